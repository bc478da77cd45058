//! The console: a line per check as it finishes, and on a terminal a live
//! progress line and colours.

use std::io::Write as _;

use super::{CheckResult, Verdict};

/// The console: a line per check, and on a terminal a live progress line
/// and colours (unless `NO_COLOR` is set). Off a terminal (CI logs) there is
/// no progress line and no escape sequence.
#[derive(Debug, Clone)]
pub struct Console {
    lines: bool,
    tty: bool,
    color: bool,
    target: String,
    total: usize,
    done: usize,
    failing: usize,
}

impl Console {
    /// A console for one target's run of `total` checks; `lines` prints a
    /// line per check.
    #[must_use]
    pub fn new(lines: bool, target: &str, total: usize) -> Self {
        use std::io::IsTerminal as _;
        let tty = std::io::stdout().is_terminal();
        let color = tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Self { lines, tty, color, target: target.to_owned(), total, done: 0, failing: 0 }
    }

    /// A console that prints nothing: for the many instances of a fault
    /// matrix, which report as a whole.
    #[must_use]
    pub fn silent() -> Self {
        Self { lines: false, tty: false, color: false, target: String::new(), total: 0, done: 0, failing: 0 }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
    }

    pub(super) fn check(&mut self, r: &CheckResult) {
        self.done += 1;
        if matches!(r.verdict, Verdict::Fail | Verdict::NotRun) {
            self.failing += 1;
        }
        let mut out = std::io::stdout().lock();
        if self.tty {
            let _ = write!(out, "\r\x1b[2K");
        }
        if self.lines {
            let (mark, code) = match r.verdict {
                Verdict::Pass => ("PASS", "32"),
                Verdict::Fail if r.is_warning() => ("WARN", "1;33"),
                Verdict::Fail => ("FAIL", "1;31"),
                Verdict::ExpectedFail => ("XFAIL", "33"),
                Verdict::UnexpectedPass => ("XPASS", "35"),
                Verdict::NotRun => ("NOT RUN", "1;31"),
                Verdict::Skipped => ("SKIP", "2"),
            };
            let mark = self.paint(code, &format!("{mark:<7}"));
            let _ = writeln!(out, "  {mark} {:<16} {:<6} {}", r.id, r.level, r.title);
            if let Some(reason) = &r.expected_reason {
                let note = if r.verdict == Verdict::UnexpectedPass {
                    "stale: listed in expected.toml but passed; remove the entry"
                } else {
                    "known deviation"
                };
                let _ = writeln!(out, "          {note}: {reason}");
            }
            for note in &r.notes {
                let _ = writeln!(out, "          note: {note}");
            }
            if let Some(m) = &r.message {
                for line in m.lines() {
                    let _ = writeln!(out, "          {line}");
                }
            }
        }
        if self.tty && self.done < self.total {
            let failing = if self.failing > 0 {
                self.paint("1;31", &format!(", {} failing", self.failing))
            } else {
                String::new()
            };
            let _ = write!(out, "  [{}] {}/{} checks{failing}", self.target, self.done, self.total);
        }
        let _ = out.flush();
    }
}
