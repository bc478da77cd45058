//! Embeds `features/` and `fixtures/` in the kensa binary, so that an
//! installed `kensa` runs from any folder (src/builtin.rs unpacks them into
//! kensa's cache on first use). Writes `$OUT_DIR/builtin_files.rs`: the files
//! as `(relative path, bytes)` and a digest of names and contents that names
//! the unpacked copy.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // Install trees and pending snapshots are not part of the content.
        if name == "node_modules" || name.starts_with('.') || name.ends_with(".pending-snap") {
            continue;
        }
        if p.is_dir() {
            walk(&p, out);
        } else if p.is_file() {
            out.push(p);
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for top in ["features", "fixtures"] {
        println!("cargo::rerun-if-changed={top}");
        walk(&root.join(top), &mut files);
    }
    // FNV-1a, 64 bits: enough to tell two builds' contents apart.
    let mut digest: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            digest ^= u64::from(*b);
            digest = digest.wrapping_mul(0x0100_0000_01b3);
        }
    };
    let mut code = String::from(
        "/// The built-in files: path relative to the project root, and content.\npub static FILES: &[(&str, &[u8])] = &[\n",
    );
    for f in &files {
        let rel = f.strip_prefix(&root).expect("under the root").to_string_lossy().replace('\\', "/");
        let bytes = std::fs::read(f).expect("readable built-in file");
        feed(rel.as_bytes());
        feed(&[0]);
        feed(&bytes);
        let _ = writeln!(code, "    ({rel:?}, include_bytes!({:?})),", f.display().to_string());
    }
    code.push_str("];\n");
    let _ = writeln!(
        code,
        "/// A digest of the built-in files' names and contents.\npub const DIGEST: &str = \"{digest:016x}\";"
    );
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("builtin_files.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
