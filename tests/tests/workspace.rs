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

#[test]
fn a_bare_cargo_build_builds_exactly_the_lambda_functions() {
    // `sam build` runs `cargo lambda build --bin <name>` at the root, which resolves
    // features over the default members: with only the functions there, the embedded
    // engine of the local server and the tests (dynoxide, SQLite) stays out of every Lambda.
    let manifest = workspace_manifest();
    let members = manifest.split("default-members = [").nth(1).expect("default-members");
    let members = members.split(']').next().unwrap_or_default();
    let mut members: Vec<&str> =
        members.split(',').map(|member| member.trim().trim_matches('"')).filter(|m| !m.is_empty()).collect();
    members.sort_unstable();
    let functions = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../functions")).expect("functions/");
    let mut expected: Vec<String> = functions
        .filter_map(Result::ok)
        .map(|entry| format!("functions/{}", entry.file_name().to_string_lossy()))
        .collect();
    expected.sort_unstable();
    assert_eq!(members, expected);
    // Each binary of a function crate (its `src/main.rs`, each `src/bin/*.rs`) is one
    // template function: the webhook-delivery crate has two.
    let mut crate_binaries = 0;
    for member in &members {
        let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(member).join("src");
        crate_binaries += usize::from(source.join("main.rs").exists());
        crate_binaries += std::fs::read_dir(source.join("bin")).map_or(0, |bins| bins.filter_map(Result::ok).count());
    }
    let binaries = steller::schema::functions().expect("template.yaml's functions");
    assert_eq!(binaries.len(), crate_binaries, "one template function per binary of the function crates");
}
