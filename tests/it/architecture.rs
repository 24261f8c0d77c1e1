//! Tidiness rules of ARCHITECTURE.md, checked on the source text:
//! data flows one way (no module refers to a stage to its right), and every source file starts with a
//! `//!` doc saying what it is.

use std::fs;
use std::path::{Path, PathBuf};

/// Pipeline order: a module may refer to modules of a lower rank, or to its own.
/// `proto` is a leaf (rank 0) so every stage may use its parsers; `pipeline` and `report` are both on
/// top and may not refer to each other.
const RANKS: &[(&str, u8)] = &[
    ("proto", 0),
    ("capture", 1),
    ("decode", 2),
    ("reassembly", 3),
    ("correlate", 4),
    ("diagnose", 5),
    ("analysis", 6),
    ("pipeline", 7),
    ("report", 7),
];

fn rank(module: &str) -> Option<u8> {
    RANKS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(&root)
                .expect("under src")
                .to_string_lossy()
                .replace('\\', "/");
            (rel, fs::read_to_string(&p).expect("source is UTF-8"))
        })
        .collect()
}

/// The names the crate root re-exports (`pub use pipeline::{analyze, Options};` in src/lib.rs),
/// each with the module it comes from.
fn reexports() -> Vec<(String, String)> {
    let lib = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"))
        .expect("src/lib.rs");
    let mut out = Vec::new();
    for line in lib.lines() {
        let Some((module, names)) = line
            .strip_prefix("pub use ")
            .and_then(|l| l.split_once("::"))
        else {
            continue;
        };
        for name in names.trim_matches(|c| "{};".contains(c)).split(',') {
            let name = name.rsplit([' ', ':']).next().unwrap_or_default();
            out.push((name.to_string(), module.to_string()));
        }
    }
    out
}

/// The leading identifier of `text`.
fn ident(text: &str) -> String {
    text.trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The leading names of the items of a group, given the text after `crate::{`: for
/// `decode, proto::{sip, sdp}}` they are decode and proto.
fn group_names(group: &str) -> Vec<String> {
    let mut names = vec![ident(group)];
    let mut depth = 0;
    for (k, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => names.push(ident(&group[k + 1..])),
            _ => {}
        }
    }
    names
}

/// The crate's top-level modules the text refers to through `crate::`: `crate::decode::Frame` and
/// `crate::{decode, proto::sip}` name theirs, and a name the root re-exports (`crate::Options`)
/// names the module it comes from.
fn crate_refs(text: &str, reexports: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, m) in text.match_indices("crate::") {
        let rest = &text[i + m.len()..];
        let names = match rest.strip_prefix('{') {
            Some(group) => group_names(group),
            None => vec![ident(rest)],
        };
        for name in names.into_iter().filter(|n| !n.is_empty()) {
            match reexports.iter().find(|(item, _)| *item == name) {
                Some((_, module)) => out.push(module.clone()),
                None => out.push(name),
            }
        }
    }
    out
}

#[test]
fn crate_refs_sees_paths_groups_and_reexports() {
    let text = "use crate::decode::Frame;\nuse crate::{proto::{sip, sdp}, report};\ncrate::Options";
    assert_eq!(
        crate_refs(text, &reexports()),
        ["decode", "proto", "report", "pipeline"]
    );
}

#[test]
fn no_module_refers_to_a_stage_on_its_right() {
    let reexports = reexports();
    let mut violations = Vec::new();
    for (file, text) in sources() {
        let module = file
            .split(['/', '.'])
            .next()
            .unwrap_or_default()
            .to_string();
        let Some(own) = rank(&module) else { continue };
        for target in crate_refs(&text, &reexports) {
            if target == module {
                continue;
            }
            match rank(&target) {
                Some(r) if r < own => {}
                Some(_) => violations.push(format!("{file}: refers to crate::{target}")),
                None => {}
            }
        }
    }
    assert!(
        violations.is_empty(),
        "backward edges:\n{}",
        violations.join("\n")
    );
}

#[test]
fn proto_imports_nothing_of_the_crate() {
    let reexports = reexports();
    for (file, text) in sources() {
        if file.starts_with("proto") {
            let foreign: Vec<_> = crate_refs(&text, &reexports)
                .into_iter()
                .filter(|t| t != "proto")
                .collect();
            assert!(foreign.is_empty(), "{file} refers to {foreign:?}");
        }
    }
}

#[test]
fn every_source_file_starts_with_a_module_doc() {
    let missing: Vec<_> = sources()
        .into_iter()
        .filter(|(_, text)| !text.trim_start().starts_with("//!"))
        .map(|(file, _)| file)
        .collect();
    assert!(missing.is_empty(), "files without a //! doc: {missing:?}");
}

#[test]
fn every_module_has_a_rank() {
    for (file, _) in sources() {
        let module = file.split(['/', '.']).next().unwrap_or_default();
        if ["lib", "main", "cli"].contains(&module) {
            continue;
        }
        assert!(
            rank(module).is_some(),
            "{file}: add its module to RANKS and ARCHITECTURE.md"
        );
    }
}
