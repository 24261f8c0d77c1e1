//! Every JSON report the golden tests keep (tests/snapshots/*.json) is valid against the published
//! schema, docs/report.schema.json — so the documented contract and the output cannot drift apart.

use std::path::Path;

#[test]
fn golden_reports_match_the_published_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("docs/report.schema.json")).expect("the schema file"),
    )
    .expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let mut checked = 0;
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(root.join("tests/snapshots")).expect("tests/snapshots") {
        let path = entry.expect("an entry").path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("a snapshot"))
                .expect("JSON");
        for error in validator.iter_errors(&report).take(3) {
            failures.push(format!(
                "{}: {} at {}",
                path.display(),
                error,
                error.instance_path()
            ));
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 20, "only {checked} reports checked");
}

#[test]
fn the_schema_rejects_a_broken_report() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("docs/report.schema.json")).expect("schema"),
    )
    .expect("JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let good: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("tests/snapshots/lab__sip-udp-outcomes.pcap.json"))
            .expect("snapshot"),
    )
    .expect("JSON");
    assert!(validator.is_valid(&good));
    let mut bad = good.clone();
    bad["calls"][0]["state"] = serde_json::json!("exploded");
    assert!(!validator.is_valid(&bad));
    let mut bad = good;
    bad["calls"][0]["undocumented"] = serde_json::json!(1);
    assert!(!validator.is_valid(&bad));
}
