//! Guards what a Lambda is built from: no function's release build may contain the YAML parser (`serde_norway`)
//! or the embedded engine (`dynoxide-rs`, `rusqlite`, `libsqlite3-sys`). They exist for the tests, the local server
//! and tooling; in a Lambda they would only add size and cold-start time.
//!
//! The graph is cargo's own (`cargo tree`), resolved the way `cargo lambda build --release --arm64 --bin <name>`
//! resolves it at the workspace root: normal dependencies only, for aarch64 Linux, with features unified over the
//! workspace's default members (the function crates), so a feature one function turns on is seen in all of them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// What Lambda runs (template.yaml's `Architectures: [arm64]`); target-specific dependencies follow it.
const LAMBDA_TARGET: &str = "aarch64-unknown-linux-gnu";

const FORBIDDEN: [&str; 4] = ["serde_norway", "dynoxide-rs", "rusqlite", "libsqlite3-sys"];

#[test]
fn no_lambda_function_is_built_with_yaml_parsing_or_the_embedded_engine() {
    let functions = function_crates();
    assert!(!functions.is_empty(), "no function crates found in {WORKSPACE}/functions");
    // No `-p`: like `cargo lambda build --bin <name>`, cargo then resolves features over the default members.
    let graph = Tree::parse(&cargo_tree(&[]));
    let unseen: Vec<&String> = functions.iter().filter(|function| !graph.roots.contains(*function)).collect();
    assert!(
        unseen.is_empty(),
        "{unseen:?} are not among the workspace's default-members, so this test cannot see what `cargo lambda \
         build --bin <name>` builds for them"
    );

    let mut findings: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut explanations = String::new();
    for package in graph.packages.iter().filter(|package| FORBIDDEN.contains(&package.name.as_str())) {
        // With the version, so the package stays unambiguous if two versions of it are ever locked.
        let spec = format!("{}@{}", package.name, package.version);
        let inverted = Tree::parse(&cargo_tree(&["--invert", &spec]));
        for (function, chain) in inverted.chains_to(&functions) {
            let finding = format!("    {} v{}, through {}\n", package.name, package.version, chain.join(" -> "));
            findings.entry(function).or_default().push(finding);
        }
        explanations +=
            &format!("\n`cargo tree -e normal --target {LAMBDA_TARGET} --invert {spec}`:\n{}", inverted.render());
    }
    let findings: String =
        findings.iter().map(|(function, found)| format!("  {function}:\n{}", found.concat())).collect();
    assert!(
        findings.is_empty(),
        "Lambda functions built with packages that must stay out of a Lambda (make the dependency optional, behind \
         a feature only the tools and tests turn on):\n{findings}{explanations}"
    );
}

/// The `[package]` names of `functions/*/Cargo.toml`, sorted.
fn function_crates() -> BTreeSet<String> {
    let functions = Path::new(WORKSPACE).join("functions");
    let entries = std::fs::read_dir(&functions).expect("the functions/ directory");
    let mut names = BTreeSet::new();
    for entry in entries {
        let manifest = entry.expect("an entry of functions/").path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else { continue };
        let package = text.split("\n[").find(|section| section.trim_start_matches('[').starts_with("package]"));
        let name = package.into_iter().flat_map(str::lines).find_map(|line| {
            let (key, value) = line.split_once('=')?;
            (key.trim() == "name").then(|| value.trim().trim_matches('"').to_string())
        });
        names.insert(name.unwrap_or_else(|| panic!("{} has no [package] name", manifest.display())));
    }
    names
}

/// Runs the `cargo` that runs the tests, so the graph is the one this toolchain would build.
fn cargo_tree(extra: &[&str]) -> String {
    let mut arguments = vec!["tree", "--locked", "-e", "normal", "--target", LAMBDA_TARGET, "--prefix", "depth"];
    arguments.extend(["--format", "{p}"]);
    arguments.extend(extra);
    let output = Command::new(env!("CARGO"))
        .args(&arguments)
        .current_dir(WORKSPACE)
        .output()
        .unwrap_or_else(|error| panic!("could not run {} {}: {error}", env!("CARGO"), arguments.join(" ")));
    assert!(
        output.status.success(),
        "cargo {} failed ({}):\n{}",
        arguments.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("cargo tree prints UTF-8")
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Package {
    name: String,
    version: String,
}

/// `cargo tree --prefix depth --format {p}` output: each line a depth, then `name vX.Y.Z (source)`.
#[derive(Debug)]
struct Tree {
    lines: Vec<(usize, String)>,
    roots: BTreeSet<String>,
    packages: BTreeSet<Package>,
}

impl Tree {
    fn parse(output: &str) -> Self {
        let mut tree = Self { lines: Vec::new(), roots: BTreeSet::new(), packages: BTreeSet::new() };
        for line in output.lines().filter(|line| !line.trim().is_empty()) {
            let digits = line.chars().take_while(char::is_ascii_digit).count();
            let depth = line[..digits].parse().unwrap_or_else(|_| panic!("no depth prefix in {line:?}"));
            let text = line[digits..].to_string();
            let mut words = text.split_whitespace();
            let name = words.next().unwrap_or_default().to_string();
            let version = words.next().unwrap_or_default().trim_start_matches('v').to_string();
            if depth == 0 {
                tree.roots.insert(name.clone());
            }
            tree.packages.insert(Package { name, version });
            tree.lines.push((depth, text));
        }
        tree
    }

    /// For an inverted tree, the first chain from each of `functions` down to the inverted package.
    fn chains_to(&self, functions: &BTreeSet<String>) -> BTreeMap<String, Vec<String>> {
        let mut chains = BTreeMap::new();
        let mut path: Vec<&str> = Vec::new();
        for (depth, text) in &self.lines {
            path.truncate(*depth);
            let name = text.split_whitespace().next().unwrap_or_default();
            path.push(name);
            if functions.contains(name) && !chains.contains_key(name) {
                chains.insert(name.to_string(), path.iter().rev().map(|step| step.to_string()).collect());
            }
        }
        chains
    }

    fn render(&self) -> String {
        self.lines.iter().map(|(depth, text)| format!("{}{text}\n", "    ".repeat(*depth))).collect()
    }
}
