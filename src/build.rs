//! Build script: lists the bundled `queries/rules/` and `queries/hunts/` files, so a rule or a
//! hunt is added by adding its file (no list in code to keep in step).

use std::fmt::Write;
use std::path::Path;

fn main() {
    let root =
        Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("queries");
    let mut code = String::new();
    for (konst, dir) in [("RULES", "rules"), ("HUNTS", "hunts")] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|e| panic!("queries/{dir}: {e}"))
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "sql"))
            .collect();
        files.sort();
        writeln!(
            code,
            "/// Every `queries/{dir}/*.sql`: (path in the repository, text)."
        )
        .unwrap();
        writeln!(code, "pub const {konst}: &[(&str, &str)] = &[").unwrap();
        for f in files {
            let name = f
                .file_name()
                .and_then(|n| n.to_str())
                .expect("UTF-8 file name");
            writeln!(
                code,
                "    (\"queries/{dir}/{name}\", include_str!({:?})),",
                f.display().to_string()
            )
            .unwrap();
        }
        writeln!(code, "];").unwrap();
    }
    // A folder here means every file under it, added ones included.
    println!("cargo::rerun-if-changed=queries");
    println!("cargo::rerun-if-changed=src/build.rs");
    let out =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets it")).join("bundled_queries.rs");
    std::fs::write(out, code).expect("write the generated list");
}
