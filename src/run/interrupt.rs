//! Ctrl-C and SIGTERM for a run.

/// Ctrl-C and SIGTERM, listened for from the start of the run so that no
/// target is ever spawned before the handlers are in place.
#[derive(Clone, Debug)]
pub struct Interrupt(tokio::sync::watch::Receiver<bool>);

impl Interrupt {
    /// Installs the handlers. A second signal kills the targets' process
    /// groups and exits at once with 130.
    ///
    /// # Errors
    /// When the signal handlers cannot be installed.
    pub fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            let _ = tx.send(true);
            // A second signal means the orderly stop is not getting
            // anywhere: kill the targets' process groups and leave now.
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            eprintln!("kensa: second interrupt: stopping the targets and exiting now");
            crate::targets::process::kill_all_now();
            std::process::exit(130);
        });
        Ok(Self(rx))
    }

    /// Resolves once a signal has arrived.
    pub async fn wait(mut self) {
        let _ = self.0.wait_for(|v| *v).await;
    }
}
