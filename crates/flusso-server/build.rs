//! Embeds the dashboard: writes `$OUT_DIR/web_assets.rs`, a table of every file under the
//! repository's `web/` folder (path, `include_bytes!`, and an ETag from the file's contents),
//! read by `src/web.rs`. Cargo reruns this when anything under `web/` changes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let web = manifest.join("../../web");
    println!("cargo:rerun-if-changed={}", web.display());
    assert!(
        web.join("index.html").is_file(),
        "the dashboard's files are missing: {} has no index.html",
        web.display()
    );
    let mut files = Vec::new();
    collect(&web, &web, &mut files);
    files.sort();
    let mut out = String::from("/// Every file of `web/`: (path under `web/`, contents, ETag).\n");
    out.push_str("pub static ASSETS: &[(&str, &[u8], &str)] = &[\n");
    for (rel, abs) in &files {
        let bytes = std::fs::read(abs).expect("read a web file");
        // FNV-1a, 64 bits: a change of contents changes the ETag.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for b in &bytes {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        let _ = writeln!(
            out,
            "    ({rel:?}, include_bytes!({:?}), \"\\\"{hash:016x}\\\"\"),",
            abs.display().to_string()
        );
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("web_assets.rs");
    std::fs::write(dest, out).expect("write web_assets.rs");
}

/// Files under `dir`, as (path relative to `root` with `/`, absolute path); dot files skipped.
fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().to_string())
                .collect();
            let abs = path.canonicalize().unwrap_or(path);
            out.push((rel.join("/"), abs));
        }
    }
}
