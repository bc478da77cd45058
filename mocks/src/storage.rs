//! Object storage for the file linkage: S3 on the file system (s3s-fs) in
//! process, where s3s verifies every request's SigV4 signature (bad
//! secret, unknown key, clock skew, payload hash) and this module admits
//! only credentials STS issued: the session token must match, and the
//! credentials must not have expired by the mocks' clock.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use hyper_util::server::graceful::GracefulShutdown;
use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::{S3Auth, SecretKey};
use s3s::service::S3ServiceBuilder;
use s3s::{S3Result, s3_error};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::sts::CredentialStore;

struct Keys(Arc<CredentialStore>);

#[async_trait::async_trait]
impl S3Auth for Keys {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        match self.0.get(access_key) {
            Some(c) => Ok(SecretKey::from(c.secret_access_key)),
            None => {
                Err(s3_error!(InvalidAccessKeyId, "The AWS access key Id you provided does not exist in our records."))
            }
        }
    }
}

struct Session(Arc<CredentialStore>);

#[async_trait::async_trait]
impl S3Access for Session {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        // SigV4 only: s3s also accepts SigV2, which AWS has retired.
        let v2_header =
            cx.headers().get("authorization").is_some_and(|a| !a.as_bytes().starts_with(b"AWS4-HMAC-SHA256 "));
        let v2_query =
            cx.uri().query().is_some_and(|q| url::form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "Signature"));
        if v2_header || v2_query {
            return Err(s3_error!(AccessDenied, "Only AWS Signature Version 4 is accepted"));
        }
        let Some(creds) = cx.credentials() else {
            return Err(s3_error!(AccessDenied, "Anonymous access is not allowed: sign the request with SigV4"));
        };
        let Some(issued) = self.0.get(&creds.access_key) else {
            return Err(s3_error!(InvalidAccessKeyId));
        };
        let sent = match cx.headers().get("x-amz-security-token") {
            Some(v) => Some(
                v.to_str()
                    .map_err(|_| s3_error!(InvalidToken, "The provided token is malformed or otherwise invalid."))?
                    .to_owned(),
            ),
            None => cx.uri().query().and_then(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .find(|(k, _)| k == "X-Amz-Security-Token")
                    .map(|(_, v)| v.into_owned())
            }),
        };
        match sent {
            None => return Err(s3_error!(AccessDenied, "Temporary credentials need their x-amz-security-token")),
            Some(t) if t != issued.session_token => {
                return Err(s3_error!(InvalidToken, "The provided token is malformed or otherwise invalid."));
            }
            Some(_) => {}
        }
        if self.0.now() >= issued.expires {
            return Err(s3_error!(ExpiredToken, "The provided token has expired."));
        }
        Ok(())
    }
}

/// A running storage mock. Dropping it stops the server and removes its
/// files.
#[derive(Debug)]
pub struct RunningStorage {
    addr: SocketAddr,
    root: PathBuf,
    stop: Option<oneshot::Sender<()>>,
}

impl RunningStorage {
    /// Serves an empty store on 127.0.0.1, admitting `store`'s credentials.
    ///
    /// # Errors
    /// When the directory or the socket cannot be made.
    pub async fn start(store: Arc<CredentialStore>) -> Result<RunningStorage, String> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let root = std::env::temp_dir().join(format!(
            "kensa-storage-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
        let fs = s3s_fs::FileSystem::new(&root).map_err(|e| format!("storage at {}: {e:?}", root.display()))?;
        let service = {
            let mut b = S3ServiceBuilder::new(fs);
            b.set_auth(Keys(store.clone()));
            b.set_access(Session(store));
            b.build()
        };
        let listener =
            TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let (stop, mut stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            let graceful = GracefulShutdown::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((socket, _)) = accepted else {
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        };
                        let conn = graceful.watch(http.serve_connection(TokioIo::new(socket), service.clone()).into_owned());
                        tokio::spawn(async move {
                            let _ = conn.await;
                        });
                    }
                    _ = &mut stopped => break,
                }
            }
            drop(listener);
            tokio::select! {
                () = graceful.shutdown() => {}
                () = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
        });
        Ok(RunningStorage { addr, root, stop: Some(stop) })
    }

    /// The endpoint, `http://127.0.0.1:PORT/` (path-style buckets).
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

impl Drop for RunningStorage {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
