//! Deterministic properties of the build that must not regress.

fn workspace_manifest() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml")).expect("the root Cargo.toml")
}

#[test]
fn the_release_profile_unwinds_so_lambda_can_report_a_panic() {
    // cargo-lambda defaults to panic = "abort", which kills the process instead of letting
    // lambda_runtime turn a panic into an invocation error.
    let manifest = workspace_manifest();
    let release = manifest.split("[profile.release]").nth(1).expect("a release profile");
    let release = release.split("\n[").next().unwrap_or_default();
    assert!(release.contains("panic = \"unwind\""), "{release}");
    assert!(release.contains("opt-level = \"s\"") && release.contains("lto"), "tuned for size: {release}");
}

#[test]
fn unsafe_code_is_forbidden_across_the_workspace() {
    let manifest = workspace_manifest();
    assert!(manifest.contains("unsafe_code = \"forbid\""));
}
