//! Guards the module graph of `shared/src`: among the children of any module, none may import its way back to
//! itself, however long the loop. Two siblings that need each other can be neither moved, split nor tested alone,
//! so what both need belongs in one of them or in a module below their common parent.
//!
//! The checker reads the source with std only: a small lexer blanks comments and literals, `#[cfg(test)]` items are
//! dropped (test code may reference anything), and every `crate::`, `super::` and `self::` path, in `use`
//! declarations or inline, is resolved to the module that defines what it names, through re-exports.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

const SHARED_SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/src");

#[test]
fn no_module_of_shared_src_imports_its_way_back_to_itself() {
    let report = check(Path::new(SHARED_SRC));
    assert!(report.is_clean(), "{report}");
}

#[test]
fn two_top_level_modules_importing_each_other_through_crate_paths_are_a_cycle() {
    let tree = Scratch::new(
        "crate-paths",
        &[
            ("lib.rs", "mod http;\nmod email;\n"),
            ("http.rs", "pub fn chain() {}\npub fn respond() {\n    crate::email::send();\n}\n"),
            ("email.rs", "use crate::http::chain;\n\npub fn send() {\n    chain();\n}\n"),
        ],
    );
    let report = check(&tree.src());
    assert_eq!(report.cycle_members(), [vec!["email", "http"]], "{report}");
    let message = report.to_string();
    assert!(message.contains("email -> http (shared/src/email.rs:1 use crate::http::chain)"), "{message}");
    assert!(message.contains("http -> email (shared/src/http.rs:3 crate::email::send)"), "{message}");
}

#[test]
fn siblings_meeting_through_a_re_export_of_their_parent_are_a_cycle() {
    let tree = Scratch::new(
        "re-export",
        &[
            ("lib.rs", "pub mod store;\n"),
            ("store/mod.rs", "mod accounts;\nmod item;\nmod page;\n\npub use page::Page;\npub struct StoreError;\n"),
            ("store/item.rs", "pub struct Item;\npub fn key() {}\n"),
            (
                "store/accounts.rs",
                concat!(
                    "use super::{\n    Page,\n    item::{Item, key as item_key},\n    StoreError,\n};\n\n",
                    "pub fn put_new() {}\n",
                ),
            ),
            ("store/page.rs", "pub struct Page;\n\npub fn next() {\n    super::accounts::put_new();\n}\n"),
        ],
    );
    let report = check(&tree.src());
    assert_eq!(report.cycle_members(), [vec!["store::accounts", "store::page"]], "{report}");
    let message = report.to_string();
    assert!(
        message.contains("store::accounts -> store::page (shared/src/store/accounts.rs:2 use super::Page)"),
        "{message}"
    );
}

#[test]
fn renamed_and_glob_re_exports_are_followed_into_the_subtree_that_defines_the_item() {
    let tree = Scratch::new(
        "subtrees",
        &[
            ("lib.rs", "pub mod store;\n"),
            (
                "store/mod.rs",
                "mod accounts;\nmod keys;\nmod page;\n\npub use keys::KeyHash as Hash;\npub use page::*;\n",
            ),
            ("store/accounts.rs", "use super::Hash;\n\npub fn put_new() {}\n"),
            ("store/keys.rs", "pub struct KeyHash;\n\npub fn first() {\n    let _ = super::Page::default();\n}\n"),
            ("store/page/mod.rs", "mod cursor;\n\npub use cursor::Page;\n"),
            (
                "store/page/cursor.rs",
                "#[derive(Default)]\npub struct Page;\n\npub fn put() {\n    crate::store::accounts::put_new();\n}\n",
            ),
        ],
    );
    let report = check(&tree.src());
    assert_eq!(report.cycle_members(), [vec!["store::accounts", "store::keys", "store::page"]], "{report}");
    let message = report.to_string();
    for edge in [
        "store::accounts -> store::keys (shared/src/store/accounts.rs:1 use super::Hash)",
        "store::keys -> store::page (shared/src/store/keys.rs:4 super::Page::default)",
        "store::page -> store::accounts (shared/src/store/page/cursor.rs:5 crate::store::accounts::put_new)",
    ] {
        assert!(message.contains(edge), "{edge} in {message}");
    }
}

#[test]
fn a_child_using_what_its_parent_itself_defines_is_no_cycle() {
    let tree = Scratch::new(
        "parent-item",
        &[
            ("lib.rs", "pub mod store;\n"),
            ("store/mod.rs", "mod accounts;\n\npub struct Thing;\n\npub fn open() {\n    accounts::put_new();\n}\n"),
            ("store/accounts.rs", "use super::Thing;\n\npub fn put_new() {\n    let _ = crate::store::Thing;\n}\n"),
        ],
    );
    let report = check(&tree.src());
    assert!(report.is_clean(), "{report}");
}

#[test]
fn a_cycle_only_inside_test_code_is_no_cycle() {
    // Braces hide in literals and comments of the test block, and code after it must still be read: the only
    // cycle left is email <-> audit, from `after_the_tests`.
    let email = concat!(
        "pub fn send() {}\n\n",
        "#[cfg(test)]\n",
        "mod tests {\n",
        "    use crate::http::chain;\n",
        "    const OPEN: char = '{';\n",
        "    const CLOSE: char = '}';\n",
        "    const QUOTE: char = '\\'';\n",
        "    const TEXT: &str = \"} \\\" }\";\n",
        "    const RAW: &str = r#\"}\"}\"#;\n",
        "    // }\n",
        "    /* } /* } */ */\n",
        "    fn _lifetime<'a>(text: &'a str) -> &'a str {\n",
        "        text\n",
        "    }\n",
        "}\n\n",
        "#[cfg(all(test, feature = \"test-support\"))]\n",
        "mod more_tests;\n\n",
        "pub fn after_the_tests() {\n",
        "    crate::audit::record();\n",
        "}\n",
    );
    let tree = Scratch::new(
        "test-only",
        &[
            ("lib.rs", "mod audit;\nmod email;\nmod http;\n"),
            ("http.rs", "pub fn chain() {}\npub fn respond() {\n    crate::email::send();\n}\n"),
            ("email.rs", email),
            ("audit.rs", "pub fn record() {\n    crate::email::send();\n}\n"),
        ],
    );
    let report = check(&tree.src());
    assert_eq!(report.cycle_members(), [vec!["audit", "email"]], "{report}");
    assert!(report.problems.is_empty(), "{report}");
}

/// What the checker found: import cycles, and declarations it could not follow (which would hide modules).
#[derive(Debug, Default)]
struct Report {
    root: String,
    cycles: Vec<Cycle>,
    problems: Vec<String>,
}

/// A strongly connected set of siblings, with one reference as evidence for each edge among them.
#[derive(Debug)]
struct Cycle {
    members: Vec<String>,
    edges: Vec<(String, String, Reference)>,
}

impl Report {
    fn is_clean(&self) -> bool {
        self.cycles.is_empty() && self.problems.is_empty()
    }

    fn cycle_members(&self) -> Vec<Vec<&str>> {
        self.cycles.iter().map(|cycle| cycle.members.iter().map(String::as_str).collect()).collect()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.cycles.is_empty() {
            writeln!(
                f,
                "{} has {} import cycle(s) among sibling modules, each shown with one reference per import; move \
                 what the modules of a cycle need from each other into one of them, or into a new module below their \
                 parent:",
                self.root,
                self.cycles.len()
            )?;
        }
        for cycle in &self.cycles {
            writeln!(f, "\ncycle among {}:", cycle.members.join(", "))?;
            for (from, to, evidence) in &cycle.edges {
                writeln!(f, "  {from} -> {to} ({}:{} {})", evidence.file, evidence.line, evidence.text)?;
            }
        }
        for problem in &self.problems {
            writeln!(f, "\n{problem}")?;
        }
        Ok(())
    }
}

/// Loads the module tree under `src` (its `lib.rs` is the root) and reports the cycles at every level of it.
fn check(src: &Path) -> Report {
    // Lexically, so that `tests/../shared/src` is shown as `shared/src`.
    let display_root = src.parent().and_then(Path::parent).unwrap_or(src).to_path_buf();
    let mut tree = Tree { modules: Vec::new(), problems: Vec::new(), display_root };
    let lib = src.join("lib.rs");
    match std::fs::read_to_string(&lib) {
        Ok(text) => {
            tree.add(None, String::from("crate"), &lib, src.to_path_buf(), module_code(&text));
        }
        Err(error) => tree.problems.push(format!("cannot read {}: {error}", lib.display())),
    }
    let root = src.strip_prefix(&tree.display_root).unwrap_or(src).display().to_string();
    let mut report = Report { root, cycles: tree.cycles(), problems: std::mem::take(&mut tree.problems) };
    report.cycles.sort_by(|a, b| a.members.cmp(&b.members));
    report
}

#[derive(Debug)]
struct Module {
    /// `crate` for the root, else the path below it, e.g. `http::error`.
    name: String,
    parent: Option<usize>,
    children: BTreeMap<String, usize>,
    /// Shown in evidence, relative to the directory holding `src`.
    file: String,
    /// This module's own code: no test items, no inline child modules.
    tokens: Vec<Token>,
    uses: Vec<UseLeaf>,
}

#[derive(Debug)]
struct Tree {
    modules: Vec<Module>,
    problems: Vec<String>,
    display_root: PathBuf,
}

/// Where a path leads: the module that defines what it names, and whether the name is that module itself.
#[derive(Debug, Clone, Copy)]
struct Resolved {
    module: usize,
    is_module: bool,
}

#[derive(Debug, Clone)]
struct Reference {
    file: String,
    line: usize,
    text: String,
}

/// Re-exports may point at each other; a bound keeps a mistaken loop of them from recursing forever.
const MAX_REEXPORT_HOPS: usize = 32;

impl Tree {
    /// `code` is the module's source with literals, comments and test items already blanked.
    fn add(&mut self, parent: Option<usize>, name: String, file: &Path, child_dir: PathBuf, code: Vec<char>) -> usize {
        let (own, inline) = split_inline_modules(&code);
        let tokens = tokenize(&own);
        let uses = use_leaves(&tokens);
        let declared = file_module_declarations(&tokens);
        let shown = file.strip_prefix(&self.display_root).unwrap_or(file).display().to_string();
        let index = self.modules.len();
        self.modules.push(Module { name, parent, children: BTreeMap::new(), file: shown.clone(), tokens, uses });
        for (child, line) in declared {
            // `foo.rs` and `foo/mod.rs` both keep their own children in `foo/`.
            let grandchild_dir = child_dir.join(&child);
            let flat = child_dir.join(format!("{child}.rs"));
            let nested = grandchild_dir.join("mod.rs");
            let Some(child_file) = [flat, nested].into_iter().find(|candidate| candidate.is_file()) else {
                self.problems.push(format!(
                    "{shown}:{line} declares `mod {child};` but neither {child}.rs nor {child}/mod.rs exists in {}",
                    child_dir.display()
                ));
                continue;
            };
            let text = match std::fs::read_to_string(&child_file) {
                Ok(text) => text,
                Err(error) => {
                    self.problems.push(format!("cannot read {}: {error}", child_file.display()));
                    continue;
                }
            };
            let name = self.child_name(index, &child);
            let added = self.add(Some(index), name, &child_file, grandchild_dir, module_code(&text));
            self.modules[index].children.insert(child, added);
        }
        for (child, code) in inline {
            let name = self.child_name(index, &child);
            let added = self.add(Some(index), name, file, child_dir.join(&child), code);
            self.modules[index].children.insert(child, added);
        }
        index
    }

    fn child_name(&self, parent: usize, child: &str) -> String {
        match parent {
            0 => child.to_string(),
            _ => format!("{}::{child}", self.modules[parent].name),
        }
    }

    /// The chain of modules from the root down to `module`, both included.
    fn lineage(&self, module: usize) -> Vec<usize> {
        let mut chain = vec![module];
        while let Some(parent) = self.modules[chain[chain.len() - 1]].parent {
            chain.push(parent);
        }
        chain.reverse();
        chain
    }

    /// Every reference from non-test code to a module of the crate, in file and line order.
    fn references(&self) -> Vec<(usize, usize, Reference)> {
        let mut found = Vec::new();
        for (from, module) in self.modules.iter().enumerate() {
            let use_paths = module.uses.iter().map(|leaf| (&leaf.path, leaf.line, true));
            let inline = inline_paths(&module.tokens);
            let inline = inline.iter().map(|(path, line)| (path, *line, false));
            for (path, line, in_use) in use_paths.chain(inline) {
                if !matches!(path.first().map(String::as_str), Some("crate" | "super" | "self")) {
                    continue;
                }
                let Some(resolved) = self.resolve(from, path, 0) else { continue };
                let text = if in_use { format!("use {}", path.join("::")) } else { path.join("::") };
                found.push((from, resolved.module, Reference { file: module.file.clone(), line, text }));
            }
        }
        found.sort_by(|a, b| (&a.2.file, a.2.line).cmp(&(&b.2.file, b.2.line)));
        found
    }

    /// Resolves a path as written in module `from`; `None` when it leaves the crate.
    fn resolve(&self, from: usize, path: &[String], hops: usize) -> Option<Resolved> {
        if hops > MAX_REEXPORT_HOPS {
            return None;
        }
        let first = path.first()?;
        let (start, rest) = match first.as_str() {
            "crate" => (0, &path[1..]),
            "self" => (from, &path[1..]),
            "super" => {
                let supers = path.iter().take_while(|segment| *segment == "super").count();
                let mut module = from;
                for _ in 0..supers {
                    module = self.modules[module].parent?;
                }
                (module, &path[supers..])
            }
            // Since the 2018 edition a `use` may start at a child module without `self::`.
            name if self.modules[from].children.contains_key(name) => (from, path),
            _ => return None,
        };
        Some(self.walk(start, rest, hops))
    }

    /// Descends through modules as far as the segments name them; the next segment is an item of the module
    /// reached, unless that module only re-exports it, in which case the re-export is followed.
    fn walk(&self, start: usize, segments: &[String], hops: usize) -> Resolved {
        let mut module = start;
        for (at, segment) in segments.iter().enumerate() {
            if let Some(&child) = self.modules[module].children.get(segment) {
                module = child;
                continue;
            }
            let Some(found) = self.find_item(module, segment, hops) else {
                return Resolved { module, is_module: false };
            };
            if found.is_module && at + 1 < segments.len() {
                return self.walk(found.module, &segments[at + 1..], hops + 1);
            }
            return found;
        }
        Resolved { module, is_module: true }
    }

    /// Where an item named in `module` but perhaps defined elsewhere really lives.
    fn find_item(&self, module: usize, name: &str, hops: usize) -> Option<Resolved> {
        if defines(&self.modules[module].tokens, name) {
            return Some(Resolved { module, is_module: false });
        }
        let uses = &self.modules[module].uses;
        if let Some(leaf) = uses.iter().find(|leaf| !leaf.glob && leaf.binding.as_deref() == Some(name)) {
            // A re-export of something outside the crate is, as far as this graph goes, the module's own.
            return Some(self.resolve(module, &leaf.path, hops + 1).unwrap_or(Resolved { module, is_module: false }));
        }
        let globs: Vec<usize> = uses
            .iter()
            .filter(|leaf| leaf.glob)
            .filter_map(|leaf| self.resolve(module, &leaf.path, hops + 1))
            .filter(|target| target.is_module)
            .map(|target| target.module)
            .collect();
        let exporter = globs
            .iter()
            .copied()
            .find(|&target| {
                defines(&self.modules[target].tokens, name)
                    || self.modules[target].children.contains_key(name)
                    || self.modules[target].uses.iter().any(|leaf| leaf.binding.as_deref() == Some(name))
            })
            .or(match globs[..] {
                [only] => Some(only),
                _ => None,
            })?;
        Some(self.walk(exporter, &[name.to_string()], hops + 1))
    }

    /// At every level, the references between the subtrees of a module's children, and the strongly connected
    /// groups of those children.
    fn cycles(&self) -> Vec<Cycle> {
        let mut levels: BTreeMap<usize, BTreeMap<(usize, usize), Reference>> = BTreeMap::new();
        for (from, to, evidence) in self.references() {
            let (from_line, to_line) = (self.lineage(from), self.lineage(to));
            let shared = from_line.iter().zip(&to_line).take_while(|(a, b)| a == b).count();
            // A reference to an ancestor, a descendant or the module itself joins no two siblings.
            let (Some(&from_child), Some(&to_child)) = (from_line.get(shared), to_line.get(shared)) else { continue };
            let edges = levels.entry(from_line[shared - 1]).or_default();
            edges.entry((from_child, to_child)).or_insert(evidence);
        }
        let mut cycles = Vec::new();
        for edges in levels.values() {
            for component in strongly_connected(edges.keys().copied()) {
                let mut edges_within: Vec<(String, String, Reference)> = edges
                    .iter()
                    .filter(|((from, to), _)| component.contains(from) && component.contains(to))
                    .map(|((from, to), evidence)| {
                        (self.modules[*from].name.clone(), self.modules[*to].name.clone(), evidence.clone())
                    })
                    .collect();
                edges_within.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
                let mut members: Vec<String> =
                    component.iter().map(|&module| self.modules[module].name.clone()).collect();
                members.sort();
                cycles.push(Cycle { members, edges: edges_within });
            }
        }
        cycles
    }
}

/// Tarjan's algorithm over the given edges; only components of more than one node are returned.
fn strongly_connected(edges: impl Iterator<Item = (usize, usize)>) -> Vec<BTreeSet<usize>> {
    #[derive(Debug, Default)]
    struct State {
        next_index: usize,
        index: BTreeMap<usize, usize>,
        low: BTreeMap<usize, usize>,
        stack: Vec<usize>,
        on_stack: BTreeSet<usize>,
        components: Vec<BTreeSet<usize>>,
    }

    fn visit(node: usize, graph: &BTreeMap<usize, Vec<usize>>, state: &mut State) {
        state.index.insert(node, state.next_index);
        state.low.insert(node, state.next_index);
        state.next_index += 1;
        state.stack.push(node);
        state.on_stack.insert(node);
        for &next in graph.get(&node).into_iter().flatten() {
            if !state.index.contains_key(&next) {
                visit(next, graph, state);
                let low = state.low[&node].min(state.low[&next]);
                state.low.insert(node, low);
            } else if state.on_stack.contains(&next) {
                let low = state.low[&node].min(state.index[&next]);
                state.low.insert(node, low);
            }
        }
        if state.low[&node] == state.index[&node] {
            let mut component = BTreeSet::new();
            while let Some(member) = state.stack.pop() {
                state.on_stack.remove(&member);
                component.insert(member);
                if member == node {
                    break;
                }
            }
            if component.len() > 1 {
                state.components.push(component);
            }
        }
    }

    let mut graph: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (from, to) in edges {
        graph.entry(from).or_default().push(to);
        graph.entry(to).or_default();
    }
    let mut state = State::default();
    let nodes: Vec<usize> = graph.keys().copied().collect();
    for node in nodes {
        if !state.index.contains_key(&node) {
            visit(node, &graph, &mut state);
        }
    }
    state.components
}

/// A module file's code as the checker sees it: literals and comments blanked, test items removed.
fn module_code(text: &str) -> Vec<char> {
    let mut code = blank_literals_and_comments(text);
    strip_test_items(&mut code);
    code
}

/// Replaces the insides of comments, strings and char literals by spaces (keeping line breaks, so lines still
/// count right), leaving only code: a `{` or `crate::` in a string is not code.
fn blank_literals_and_comments(text: &str) -> Vec<char> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = chars.clone();
    let blank = |out: &mut Vec<char>, from: usize, to: usize| {
        for slot in &mut out[from..to.min(chars.len())] {
            if *slot != '\n' {
                *slot = ' ';
            }
        }
    };
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            let end = chars[i..].iter().position(|&c| c == '\n').map_or(chars.len(), |offset| i + offset);
            blank(&mut out, i, end);
            i = end;
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            let mut j = i;
            while j < chars.len() {
                if chars[j] == '/' && chars.get(j + 1) == Some(&'*') {
                    depth += 1;
                    j += 2;
                } else if chars[j] == '*' && chars.get(j + 1) == Some(&'/') {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
        } else if c == 'r' && raw_prefix(&chars, i) && raw_string_at(&chars, i) {
            let hashes = chars[i + 1..].iter().take_while(|&&c| c == '#').count();
            let body = i + 2 + hashes;
            let mut j = body;
            while j < chars.len() {
                if chars[j] == '"' && chars[j + 1..].iter().take(hashes).filter(|&&c| c == '#').count() == hashes {
                    break;
                }
                j += 1;
            }
            blank(&mut out, body, j);
            i = j + 1 + hashes;
        } else if c == '"' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '"' {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            blank(&mut out, i + 1, j);
            i = j + 1;
        } else if c == '\'' {
            // `'x'` and `'\n'` are chars; `'a` alone is a lifetime or a label.
            if next == Some('\\') {
                let mut j = i + 3;
                while j < chars.len() && chars[j] != '\'' {
                    j += 1;
                }
                blank(&mut out, i + 1, j);
                i = j + 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                blank(&mut out, i + 1, i + 2);
                i += 3;
            } else {
                i += 1;
            }
        } else if is_ident(c) {
            // Skip whole words so that the `r` ending `bar` is never taken for a raw string.
            while i < chars.len()
                && is_ident(chars[i])
                && !(chars[i] == 'r' && raw_string_at(&chars, i) && raw_prefix(&chars, i))
            {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out
}

/// `r"…"` or `r#"…"#` starts at `at`.
fn raw_string_at(chars: &[char], at: usize) -> bool {
    let hashes = chars[at + 1..].iter().take_while(|&&c| c == '#').count();
    chars.get(at) == Some(&'r') && chars.get(at + 1 + hashes) == Some(&'"')
}

/// The `r` at `at` starts a word, or follows the `b` or `c` of `br"…"` and `cr"…"`.
fn raw_prefix(chars: &[char], at: usize) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    match at {
        0 => true,
        1 => !is_ident(chars[0]) || matches!(chars[0], 'b' | 'c'),
        _ => !is_ident(chars[at - 1]) || (matches!(chars[at - 1], 'b' | 'c') && !is_ident(chars[at - 2])),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    PathSep,
    Punct(char),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
    /// Char offsets into the code the token was read from, so items can be blanked out of it.
    start: usize,
    end: usize,
}

impl Token {
    fn is_ident(&self, word: &str) -> bool {
        matches!(&self.tok, Tok::Ident(ident) if ident == word)
    }

    fn is_punct(&self, punct: char) -> bool {
        self.tok == Tok::Punct(punct)
    }

    fn ident(&self) -> Option<&str> {
        match &self.tok {
            Tok::Ident(ident) => Some(ident),
            _ => None,
        }
    }
}

/// Words, `::` and single punctuation; numbers and quotes are kept as punctuation, since nothing here reads them.
fn tokenize(code: &[char]) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < code.len() {
        let c = code[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < code.len() && (code[i].is_alphanumeric() || code[i] == '_') {
                i += 1;
            }
            let mut word: String = code[start..i].iter().collect();
            // A raw identifier `r#type` is the word `type`.
            if word == "r" && code.get(i) == Some(&'#') && code.get(i + 1).is_some_and(|c| c.is_alphabetic()) {
                let rest = i + 1;
                i = rest;
                while i < code.len() && (code[i].is_alphanumeric() || code[i] == '_') {
                    i += 1;
                }
                word = code[rest..i].iter().collect();
            }
            tokens.push(Token { tok: Tok::Ident(word), line, start, end: i });
        } else if c.is_ascii_digit() {
            let start = i;
            while i < code.len() && (code[i].is_alphanumeric() || code[i] == '_') {
                i += 1;
            }
            tokens.push(Token { tok: Tok::Punct('0'), line, start, end: i });
        } else if c == ':' && code.get(i + 1) == Some(&':') {
            tokens.push(Token { tok: Tok::PathSep, line, start: i, end: i + 2 });
            i += 2;
        } else {
            tokens.push(Token { tok: Tok::Punct(c), line, start: i, end: i + 1 });
            i += 1;
        }
    }
    tokens
}

/// Blanks every item compiled only for tests, attribute included: `#[cfg(test)] mod tests { … }`, a test module
/// in its own file (`#[cfg(test)] mod tests;`) and any other item under `cfg(test)` or `cfg(all(test, …))`. A file
/// starting with `#![cfg(test)]` is blanked whole.
fn strip_test_items(code: &mut [char]) {
    let tokens = tokenize(code);
    let mut i = 0;
    while i < tokens.len() {
        let Some((inner, after)) = attribute_at(&tokens, i) else {
            i += 1;
            continue;
        };
        if !is_test_only_attribute(&tokens[i..after]) {
            i = after;
            continue;
        }
        if inner {
            blank_range(code, 0, code.len());
            return;
        }
        let end = item_end(&tokens, after);
        let to = tokens.get(end.saturating_sub(1)).map_or(code.len(), |token| token.end);
        blank_range(code, tokens[i].start, to);
        i = end;
    }
}

fn blank_range(code: &mut [char], from: usize, to: usize) {
    for slot in &mut code[from..to] {
        if *slot != '\n' {
            *slot = ' ';
        }
    }
}

/// At `at`, an attribute `#[…]` or `#![…]`: whether it is inner, and the token after its `]`.
fn attribute_at(tokens: &[Token], at: usize) -> Option<(bool, usize)> {
    if !tokens[at].is_punct('#') {
        return None;
    }
    let inner = tokens.get(at + 1)?.is_punct('!');
    let open = if inner { at + 2 } else { at + 1 };
    if !tokens.get(open)?.is_punct('[') {
        return None;
    }
    Some((inner, matching(tokens, open, '[', ']')? + 1))
}

/// The index of the bracket closing the one opened at `open`.
fn matching(tokens: &[Token], open: usize, opening: char, closing: char) -> Option<usize> {
    let mut depth = 0usize;
    for (index, token) in tokens.iter().enumerate().skip(open) {
        if token.is_punct(opening) {
            depth += 1;
        } else if token.is_punct(closing) {
            depth = depth.checked_sub(1)?;
            if depth == 0 {
                return Some(index);
            }
        }
    }
    None
}

/// `#[cfg(test)]`, or `#[cfg(all(test, …))]` at any depth of `all`: compiled only when testing.
fn is_test_only_attribute(attribute: &[Token]) -> bool {
    let start = attribute.iter().position(|token| token.is_punct('[')).map_or(0, |open| open + 1);
    let body = &attribute[start..attribute.len().saturating_sub(1)];
    match body {
        [cfg, open, predicate @ .., close] if cfg.is_ident("cfg") && open.is_punct('(') && close.is_punct(')') => {
            is_test_only_predicate(predicate)
        }
        _ => false,
    }
}

fn is_test_only_predicate(predicate: &[Token]) -> bool {
    match predicate {
        [test] => test.is_ident("test"),
        [all, open, arguments @ .., close] if all.is_ident("all") && open.is_punct('(') && close.is_punct(')') => {
            split_top_level(arguments, ',').iter().any(|argument| is_test_only_predicate(argument))
        }
        _ => false,
    }
}

fn split_top_level(tokens: &[Token], separator: char) -> Vec<&[Token]> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut from = 0;
    for (index, token) in tokens.iter().enumerate() {
        match &token.tok {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => depth = depth.saturating_sub(1),
            Tok::Punct(c) if *c == separator && depth == 0 => {
                parts.push(&tokens[from..index]);
                from = index + 1;
            }
            _ => {}
        }
    }
    parts.push(&tokens[from..]);
    parts
}

/// The token after the item starting at `at` (after its attributes): its `;`, or the `}` closing its body.
fn item_end(tokens: &[Token], at: usize) -> usize {
    let mut depth = 0usize;
    let mut index = at;
    while index < tokens.len() {
        match &tokens[index].tok {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']') => depth = depth.saturating_sub(1),
            // A `}` at depth 0 closes the block around the item, which stays.
            Tok::Punct('}') if depth == 0 => return index,
            Tok::Punct('}') => {
                depth -= 1;
                if depth == 0 {
                    return index + 1;
                }
            }
            Tok::Punct(';') if depth == 0 => return index + 1,
            _ => {}
        }
        index += 1;
    }
    tokens.len()
}

/// Splits out inline `mod name { … }` blocks: the module's own code with them blanked, and each block's code
/// with everything around it blanked, so line numbers stay those of the file.
fn split_inline_modules(code: &[char]) -> (Vec<char>, Vec<(String, Vec<char>)>) {
    let tokens = tokenize(code);
    let mut own = code.to_vec();
    let mut inline = Vec::new();
    let mut i = 0;
    while i + 2 < tokens.len() {
        let name = tokens[i + 1].ident().filter(|_| tokens[i].is_ident("mod") && tokens[i + 2].is_punct('{'));
        let Some(name) = name else {
            i += 1;
            continue;
        };
        let close = matching(&tokens, i + 2, '{', '}').unwrap_or(tokens.len() - 1);
        let (from, to) = (tokens[i + 2].end, tokens[close].start);
        let mut block = code.to_vec();
        blank_range(&mut block, 0, from);
        blank_range(&mut block, to, code.len());
        blank_range(&mut own, from, to);
        inline.push((name.to_string(), block));
        i = close + 1;
    }
    (own, inline)
}

/// `mod name;` declarations, with their lines: the modules kept in files of their own.
fn file_module_declarations(tokens: &[Token]) -> Vec<(String, usize)> {
    tokens
        .windows(3)
        .filter(|window| window[0].is_ident("mod") && window[2].is_punct(';'))
        .filter_map(|window| Some((window[1].ident()?.to_string(), window[1].line)))
        .collect()
}

/// Whether the module's own code defines an item called `name`.
fn defines(tokens: &[Token], name: &str) -> bool {
    const KEYWORDS: [&str; 9] = ["fn", "struct", "enum", "trait", "type", "const", "static", "union", "mod"];
    tokens.windows(2).any(|pair| KEYWORDS.iter().any(|keyword| pair[0].is_ident(keyword)) && pair[1].is_ident(name))
        || tokens
            .windows(3)
            .any(|triple| triple[0].is_ident("macro_rules") && triple[1].is_punct('!') && triple[2].is_ident(name))
}

/// One path of a `use` declaration, its braces flattened: `use super::{Page, item::{Item, key as k}};` gives
/// `super::Page`, `super::item::Item` and `super::item::key` (bound as `k`).
#[derive(Debug, Clone)]
struct UseLeaf {
    path: Vec<String>,
    /// The name the declaration brings into scope; `None` for `as _` and globs.
    binding: Option<String>,
    glob: bool,
    line: usize,
}

fn use_leaves(tokens: &[Token]) -> Vec<UseLeaf> {
    let mut leaves = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i].is_ident("use") {
            let mut at = i + 1;
            if tokens.get(at).is_some_and(|token| token.tok == Tok::PathSep) {
                at += 1;
            }
            parse_use_tree(tokens, &mut at, &[], &mut leaves);
            i = at;
        } else {
            i += 1;
        }
    }
    leaves
}

fn parse_use_tree(tokens: &[Token], at: &mut usize, prefix: &[String], leaves: &mut Vec<UseLeaf>) {
    let mut path = prefix.to_vec();
    while let Some(token) = tokens.get(*at) {
        match &token.tok {
            Tok::Ident(word) if word != "as" => {
                path.push(word.clone());
                *at += 1;
                if tokens.get(*at).is_some_and(|token| token.tok == Tok::PathSep) {
                    *at += 1;
                    continue;
                }
                let mut binding = Some(word.clone());
                if tokens.get(*at).is_some_and(|token| token.is_ident("as")) {
                    binding =
                        tokens.get(*at + 1).and_then(Token::ident).filter(|name| *name != "_").map(str::to_string);
                    *at += 2;
                }
                // `use a::b::{self}` names the module `b` itself.
                if path.len() > 1 && path[path.len() - 1] == "self" {
                    path.pop();
                    if binding.as_deref() == Some("self") {
                        binding = path.last().cloned();
                    }
                }
                leaves.push(UseLeaf { path, binding, glob: false, line: token.line });
                return;
            }
            Tok::Punct('{') => {
                *at += 1;
                while let Some(next) = tokens.get(*at) {
                    if next.is_punct('}') {
                        *at += 1;
                        return;
                    }
                    if next.is_punct(',') {
                        *at += 1;
                        continue;
                    }
                    let before = *at;
                    parse_use_tree(tokens, at, &path, leaves);
                    if *at == before {
                        *at += 1;
                    }
                }
                return;
            }
            Tok::Punct('*') => {
                *at += 1;
                leaves.push(UseLeaf { path, binding: None, glob: true, line: token.line });
                return;
            }
            _ => return,
        }
    }
}

/// Paths outside `use` declarations that start at `crate`, `super` or `self` (or `$crate` in a macro), as far as
/// they go with plain segments: `crate::http::chain(&e)` gives `crate::http::chain`.
fn inline_paths(tokens: &[Token]) -> Vec<(Vec<String>, usize)> {
    let mut paths = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        // `use<'a>` in `impl Trait + use<'a>` captures lifetimes; it is no declaration.
        if tokens[i].is_ident("use") && tokens.get(i + 1).is_some_and(|token| !token.is_punct('<')) {
            i = item_end(tokens, i);
            continue;
        }
        let starts = ["crate", "super", "self"].iter().any(|word| tokens[i].is_ident(word));
        let follows_path = i > 0 && tokens[i - 1].tok == Tok::PathSep;
        if !starts || follows_path || tokens.get(i + 1).is_none_or(|token| token.tok != Tok::PathSep) {
            i += 1;
            continue;
        }
        let line = tokens[i].line;
        let mut path = Vec::new();
        let mut at = i;
        while let Some(word) = tokens.get(at).and_then(Token::ident) {
            path.push(word.to_string());
            if tokens.get(at + 1).is_some_and(|token| token.tok == Tok::PathSep) {
                at += 2;
            } else {
                at += 1;
                break;
            }
        }
        paths.push((path, line));
        i = at.max(i + 1);
    }
    paths
}

/// A fresh directory under the system's temporary one holding `src/…` files; removed again when dropped.
#[derive(Debug)]
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str, files: &[(&str, &str)]) -> Self {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let unique = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let root = std::env::temp_dir().join(format!("steller-module-graph-{}-{unique}-{name}", std::process::id()));
        // A directory left by an earlier run killed mid-test must not leak its files into this one.
        let _ = std::fs::remove_dir_all(&root);
        for (path, text) in files {
            let file = root.join("shared").join("src").join(path);
            std::fs::create_dir_all(file.parent().expect("a file in a directory")).expect("create the scratch tree");
            std::fs::write(&file, text).expect("write a scratch source file");
        }
        Self(root)
    }

    /// Laid out like the real tree, so evidence reads `shared/src/…` here too.
    fn src(&self) -> PathBuf {
        self.0.join("shared").join("src")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
