//! Tidiness rules of ARCHITECTURE.md, checked on the source text:
//! data flows one way (no module refers to a stage to its right), and every source file starts with a
//! `//!` doc saying what it is.

use std::fs;
use std::path::{Path, PathBuf};

/// Pipeline order: a module may refer to modules of a lower rank, or to its own.
/// `proto` is a leaf (rank 0) so every stage may use its parsers; `words` (the wording for people that
/// `diagnose` and `report` share) is a leaf too; `points` (several capture points put together) reads
/// the analyses and the packets again, below `pipeline`, which runs it, and `report`, which renders
/// it; `pipeline`, `report` and `export` are on top and may not refer to each other.
const RANKS: &[(&str, u8)] = &[
    ("proto", 0),
    ("words", 0),
    ("capture", 1),
    ("decode", 2),
    ("reassembly", 3),
    ("decrypt", 4),
    ("correlate", 5),
    ("diagnose", 6),
    ("analysis", 7),
    ("points", 8),
    ("pipeline", 9),
    ("report", 9),
    ("export", 9),
];

/// Modules held to a list of the modules they may refer to, tighter than their rank allows.
/// `export` (packets out) reads the files again and decodes them with the decoder that read them;
/// `report` renders the model and reads no packet: it refers to neither `decode` nor `capture`.
/// (`Analysis` is the crate root's re-export of `analysis::Analysis`.)
const ALLOWED: &[(&str, &[&str])] = &[
    (
        "export",
        &[
            "proto",
            "words",
            "capture",
            "decode",
            "correlate",
            "diagnose",
            "analysis",
            "Analysis",
        ],
    ),
    (
        "report",
        &[
            "proto",
            "words",
            "correlate",
            "diagnose",
            "analysis",
            "Analysis",
            "points",
        ],
    ),
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
fn words_imports_nothing_of_the_crate() {
    for (file, text) in sources() {
        if file == "words.rs" {
            let foreign = crate_refs(&text, &reexports());
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

#[test]
fn export_and_report_refer_only_to_what_they_may() {
    let mut violations = Vec::new();
    for (file, text) in sources() {
        let module = file.split(['/', '.']).next().unwrap_or_default();
        let Some((_, allowed)) = ALLOWED.iter().find(|(m, _)| *m == module) else {
            continue;
        };
        for target in crate_refs(&text, &reexports()) {
            if target != module && !allowed.contains(&target.as_str()) {
                violations.push(format!("{file}: refers to crate::{target}"));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "not allowed:\n{}",
        violations.join("\n")
    );
}

#[test]
fn nothing_in_the_library_refers_to_export() {
    for (file, text) in sources() {
        let module = file.split(['/', '.']).next().unwrap_or_default();
        if ["export", "main", "cli"].contains(&module) {
            continue;
        }
        assert!(
            !crate_refs(&text, &reexports())
                .iter()
                .any(|t| t == "export"),
            "{file} refers to crate::export: only the binary, tests and fuzz targets use it"
        );
    }
}

/// The paths a text names after `callscope::`, with `use` groups expanded
/// (`callscope::pipeline::{FrameFilter, NoProgress}` gives `pipeline::FrameFilter` and
/// `pipeline::NoProgress`).
fn library_paths(text: &str) -> Vec<String> {
    fn skip_space(s: &[char], at: &mut usize) {
        while s.get(*at).is_some_and(|c| c.is_whitespace()) {
            *at += 1;
        }
    }
    fn tree(s: &[char], at: &mut usize, prefix: &str, out: &mut Vec<String>) {
        let mut path = prefix.to_string();
        loop {
            skip_space(s, at);
            if s.get(*at) == Some(&'{') {
                *at += 1;
                loop {
                    skip_space(s, at);
                    if s.get(*at) == Some(&'}') {
                        *at += 1;
                        return;
                    }
                    tree(s, at, &path, out);
                    skip_space(s, at);
                    match s.get(*at) {
                        Some(',') => *at += 1,
                        Some('}') => {
                            *at += 1;
                            return;
                        }
                        _ => return,
                    }
                }
            }
            let start = *at;
            while s.get(*at).is_some_and(|c| c.is_alphanumeric() || *c == '_') {
                *at += 1;
            }
            if *at == start {
                out.push(path);
                return;
            }
            let ident: String = s[start..*at].iter().collect();
            path = if path.is_empty() {
                ident
            } else {
                format!("{path}::{ident}")
            };
            if s.get(*at) == Some(&':') && s.get(*at + 1) == Some(&':') {
                *at += 2;
            } else {
                out.push(path);
                return;
            }
        }
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    for (i, m) in text.match_indices("callscope::") {
        let mut at = text[..i].chars().count() + m.len();
        tree(&chars, &mut at, "", &mut out);
    }
    out
}

#[test]
fn library_paths_expand_use_groups() {
    assert_eq!(
        library_paths("use callscope::pipeline::{FrameFilter, NoProgress};\ncallscope::analyze(x)"),
        ["pipeline::FrameFilter", "pipeline::NoProgress", "analyze"]
    );
    assert_eq!(
        library_paths("use callscope::{report::{json, text}, Options};"),
        ["report::json", "report::text", "Options"]
    );
}

/// The binary (`src/main.rs`, `src/cli/`) uses the library as any user would: `analyze` and its
/// options (and `analyze_points` with the `points` model), the model, the renderers and `export`. It never decodes or reassembles packets itself,
/// and reaches nothing of the pipeline beyond its public entry points (the chunk and fold stages are
/// private, so `pub(crate)` items cannot be reached either way).
#[test]
fn the_binary_uses_only_the_public_api() {
    const TOP: &[&str] = &[
        "analyze",
        "analyze_into",
        "analyze_points",
        "points",
        "Options",
        "Progress",
        "Analysis",
        "analysis",
        "capture",
        "correlate",
        "decrypt",
        "diagnose",
        "pipeline",
        "report",
        "export",
    ];
    const PIPELINE: &[&str] = &[
        "analyze",
        "analyze_into",
        "analyze_points",
        "Options",
        "Progress",
        "NoProgress",
        "FrameFilter",
        "Live",
    ];
    let mut violations = Vec::new();
    for (file, text) in sources() {
        if !(file == "main.rs" || file.starts_with("cli/")) {
            continue;
        }
        if text.contains("#[path") {
            violations.push(format!("{file}: includes a source file by #[path]"));
        }
        for path in library_paths(&text) {
            let mut parts = path.split("::");
            let top = parts.next().unwrap_or_default();
            let ok = TOP.contains(&top)
                && (top != "pipeline" || parts.next().is_none_or(|p| PIPELINE.contains(&p)));
            if !ok {
                violations.push(format!("{file}: callscope::{path}"));
            }
        }
        if file == "main.rs" {
            let mods: Vec<&str> = text
                .lines()
                .filter_map(|l| l.trim().strip_prefix("mod "))
                .collect();
            if mods != ["cli;"] {
                violations.push(format!(
                    "main.rs declares modules {mods:?}; only `mod cli;`"
                ));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "the binary reaches past the public API:\n{}",
        violations.join("\n")
    );
}
