//! The checks and fixtures kensa carries: `features/` and `fixtures/` as they
//! were when the binary was built, so that an installed `kensa` runs from any
//! folder. They are unpacked once into kensa's cache
//! (`<cache>/builtin/<version>-<digest>/`), where the parts that run as files
//! (a target's setup script, node-oidc-provider's `provider.mjs`) need them;
//! `--features DIR` and `--fixtures DIR` read a folder instead.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

mod files {
    include!(concat!(env!("OUT_DIR"), "/builtin_files.rs"));
}

pub use files::DIGEST;

/// Every built-in file: its path relative to kensa's project root
/// (`features/...`, `fixtures/...`) and its content.
#[must_use]
pub fn files() -> &'static [(&'static str, &'static [u8])] {
    files::FILES
}

/// Where the built-in files are unpacked: one folder per kensa version and
/// content digest.
#[must_use]
pub fn home() -> PathBuf {
    crate::targets::process::cache_root().join("builtin").join(format!("{}-{}", env!("CARGO_PKG_VERSION"), DIGEST))
}

/// The folder holding the built-in `features/` and `fixtures/`, unpacked on
/// first use. Several kensa processes may start at once: each unpacks into
/// a folder of its own and renames it into place; the first rename wins.
///
/// # Errors
/// The cache folder cannot be written (the message names it and says how to
/// choose another).
pub fn root() -> Result<&'static Path, String> {
    static ROOT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    ROOT.get_or_init(|| unpack(&home())).as_ref().map(PathBuf::as_path).map_err(Clone::clone)
}

/// The built-in feature files' folder.
///
/// # Errors
/// As [`root`].
pub fn features() -> Result<PathBuf, String> {
    root().map(|r| r.join("features"))
}

/// The built-in fixtures' folder.
///
/// # Errors
/// As [`root`].
pub fn fixtures() -> Result<PathBuf, String> {
    root().map(|r| r.join("fixtures"))
}

const COMPLETE: &str = ".complete";

fn unpack(home: &Path) -> Result<PathBuf, String> {
    if home.join(COMPLETE).is_file() {
        return Ok(home.to_path_buf());
    }
    let fail = |what: &str, path: &Path, e: std::io::Error| {
        format!(
            "cannot unpack kensa's built-in checks and fixtures: {what} {}: {e} (set KENSA_CACHE_DIR to a writable folder, or pass --features DIR and --fixtures DIR)",
            path.display()
        )
    };
    let parent = home.parent().unwrap_or(home);
    std::fs::create_dir_all(parent).map_err(|e| fail("cannot create", parent, e))?;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let staging = parent.join(format!(".unpack-{}-{nanos}", std::process::id()));
    let result = (|| {
        for (rel, bytes) in files::FILES {
            let path = staging.join(rel);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| fail("cannot create", dir, e))?;
            }
            std::fs::write(&path, bytes).map_err(|e| fail("cannot write", &path, e))?;
        }
        std::fs::write(staging.join(COMPLETE), DIGEST).map_err(|e| fail("cannot write", &staging, e))?;
        match std::fs::rename(&staging, home) {
            Ok(()) => Ok(()),
            // Another kensa unpacked the same content first.
            Err(_) if home.join(COMPLETE).is_file() => Ok(()),
            Err(e) => Err(fail("cannot move into place", home, e)),
        }
    })();
    if staging.exists() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result.map(|()| home.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binary_carries_the_features_and_fixtures() {
        let names: Vec<&str> = files().iter().map(|(n, _)| *n).collect();
        for needed in
            ["features/oidc/login.feature", "fixtures/realm.toml", "fixtures/targets/node-oidc-provider/provider.mjs"]
        {
            assert!(names.contains(&needed), "{needed} is not built in");
        }
        assert!(!names.iter().any(|n| n.contains("node_modules") || n.ends_with(".pending-snap")));
        assert_eq!(DIGEST.len(), 16);
    }

    #[test]
    fn unpacking_twice_and_into_a_taken_place_keeps_one_complete_copy() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("builtin").join("v-digest");
        assert_eq!(unpack(&home).unwrap(), home);
        let realm = std::fs::read(home.join("fixtures/realm.toml")).unwrap();
        let want = files().iter().find(|(n, _)| *n == "fixtures/realm.toml").unwrap().1;
        assert_eq!(realm, want);
        // A second unpack finds the complete copy and leaves no staging folder.
        assert_eq!(unpack(&home).unwrap(), home);
        let left: Vec<_> = std::fs::read_dir(dir.path().join("builtin")).unwrap().collect();
        assert_eq!(left.len(), 1);
    }

    #[test]
    fn an_unwritable_cache_is_named_with_the_way_out() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, "").unwrap();
        let e = unpack(&file.join("builtin/v")).unwrap_err();
        assert!(e.contains("a-file") && e.contains("KENSA_CACHE_DIR"), "{e}");
    }
}
