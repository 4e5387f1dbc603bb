//! The documentation is self-contained: every relative link in README.md and docs/ reaches a file of the repository
//! (and a heading of it, when the link names one), and nothing names a document kept outside the repository.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Component, Path, PathBuf};

/// The guidance documents that were kept outside the repository, spelled in two pieces so that this file, which is
/// scanned too, does not name them itself.
const OUTSIDE_DOCUMENTS: [[&str; 2]; 3] = [["DESIGN", ".md"], ["API", ".md"], ["STYLE", ".md"]];
/// The folder they were kept in, seen from the repository. Only a link can tell whether
/// `../shared/` leaves the repository (from `tests/` it is the repository's own crate), so
/// the link check, not the name check, refuses it.
const OUTSIDE_FOLDER: [&str; 2] = ["..", "/shared/"];

/// The repository's root: this crate is its `tests/` folder.
fn repository_root() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).canonicalize().expect("the repository root exists")
}

/// Folders no check looks into: build output, git's data, virtualenvs, SAM's build folder.
fn is_skipped_folder(name: &str) -> bool {
    matches!(name, "target" | ".git" | ".aws-sam") || name.starts_with(".venv")
}

fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    path.extension().and_then(|extension| extension.to_str()).is_some_and(|extension| extensions.contains(&extension))
}

/// Every file under `folder` (recursively, symbolic links not followed) that `wanted` accepts, sorted.
fn files_under(folder: &Path, wanted: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let entries = fs::read_dir(&folder).unwrap_or_else(|error| panic!("cannot list {}: {error}", folder.display()));
        for entry in entries {
            let entry = entry.expect("a readable folder entry");
            let kind = entry.file_type().expect("a folder entry's type");
            let path = entry.path();
            if kind.is_dir() && !is_skipped_folder(&entry.file_name().to_string_lossy()) {
                pending.push(path);
            } else if kind.is_file() && wanted(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// README.md and every markdown file under docs/.
fn documentation(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![root.join("README.md")];
    files.extend(files_under(&root.join("docs"), &|path| has_extension(path, &["md"])));
    files
}

fn read(path: &Path) -> String {
    let bytes = fs::read(path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Where a problem was found, as `path:line` relative to the repository.
fn place(root: &Path, file: &Path, line: usize) -> String {
    format!("{}:{line}", file.strip_prefix(root).unwrap_or(file).display())
}

/// The lines of a markdown text outside fenced code blocks, with their 1-based numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut prose = Vec::new();
    let mut fence: Option<(char, usize)> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let marker = trimmed.chars().next().filter(|first| *first == '`' || *first == '~');
        let run = marker.map_or(0, |marker| trimmed.chars().take_while(|c| *c == marker).count());
        match (fence, marker) {
            (None, Some(marker)) if run >= 3 => fence = Some((marker, run)),
            (None, _) => prose.push((index + 1, line)),
            // Fence characters are ASCII, so `run` is also a byte offset.
            (Some((open, length)), Some(marker))
                if marker == open && run >= length && trimmed[run..].trim().is_empty() =>
            {
                fence = None;
            }
            (Some(_), _) => {}
        }
    }
    prose
}

/// A line without its inline code spans, where brackets and parentheses are not links.
fn without_code_spans(line: &str) -> String {
    let mut kept = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        kept.push_str(&rest[..start]);
        let run = rest[start..].bytes().take_while(|byte| *byte == b'`').count();
        let ticks = &rest[start..start + run];
        let after = &rest[start + run..];
        if let Some(end) = after.find(ticks) {
            rest = after[end..].trim_start_matches('`');
        } else {
            // A run of backticks that is never closed is plain text.
            kept.push_str(ticks);
            rest = after;
        }
    }
    kept.push_str(rest);
    kept
}

/// The targets of the inline links `[text](target)` and images `![alt](target)` on one line of prose.
fn link_targets(line: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        // The destination ends at the first unbalanced ')'.
        let mut depth = 0_usize;
        let mut end = None;
        for (index, c) in after.char_indices() {
            match c {
                '(' => depth += 1,
                ')' if depth == 0 => {
                    end = Some(index);
                    break;
                }
                ')' => depth -= 1,
                _ => {}
            }
        }
        let Some(end) = end else { break };
        let inside = after[..end].trim();
        // `<target>`, or the first word (a link may carry a title after its target).
        let target = match inside.strip_prefix('<').and_then(|quoted| quoted.split_once('>')) {
            Some((target, _)) => target,
            None => inside.split_whitespace().next().unwrap_or_default(),
        };
        targets.push(target.to_owned());
        rest = &after[end + 1..];
    }
    targets
}

/// `%XX` escapes decoded, as a browser does before asking for a file.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| text.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        if let Some(byte) = escaped {
            decoded.push(byte);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// The anchor GitHub gives a heading: lower case, spaces to '-', punctuation other than '-' and '_' dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// The text of an ATX heading line (`## Title ##`), if the line is one.
fn heading_text(line: &str) -> Option<&str> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let line = line.trim_start_matches(' ');
    let level = line.bytes().take_while(|byte| *byte == b'#').count();
    let text = &line[level..];
    if indent > 3 || !(1..=6).contains(&level) || !(text.is_empty() || text.starts_with([' ', '\t'])) {
        return None;
    }
    let text = text.trim();
    // An optional closing sequence of '#'s, after a space.
    let closed = text.trim_end_matches('#');
    Some(if closed.is_empty() || closed.ends_with([' ', '\t']) { closed.trim_end() } else { text })
}

/// A heading's text as GitHub renders it before taking the slug: links reduced to their text.
fn rendered_heading(text: &str) -> String {
    let mut rendered = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        let Some(end) = rest[at..].find(')') else { break };
        rendered.push_str(&rest[..at]);
        rest = &rest[at + end + 1..];
    }
    rendered.push_str(rest);
    rendered
}

/// Every anchor GitHub makes for a markdown text's headings; a repeated heading gets `-1`, `-2`, … appended.
fn anchors(text: &str) -> HashSet<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut anchors = HashSet::new();
    for (_, line) in prose_lines(text) {
        let Some(heading) = heading_text(line) else { continue };
        let base = slug(&rendered_heading(heading));
        let count = seen.entry(base.clone()).or_default();
        anchors.insert(if *count == 0 { base.clone() } else { format!("{base}-{count}") });
        *count += 1;
    }
    anchors
}

/// Where a relative link's path leads from `folder`, or `None` when it climbs out of the repository. A path
/// starting with '/' starts at the repository's root, as on GitHub.
fn resolve(root: &Path, folder: &Path, path: &str) -> Option<PathBuf> {
    let mut resolved = if path.starts_with('/') { root.to_path_buf() } else { folder.to_path_buf() };
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => resolved.push(part),
            Component::ParentDir if resolved == root => return None,
            Component::ParentDir => {
                resolved.pop();
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Some(resolved)
}

/// Why a link's target does not reach what it names, if it does not.
fn broken_link(
    root: &Path,
    file: &Path,
    target: &str,
    anchors_of: &mut dyn FnMut(&Path) -> HashSet<String>,
) -> Option<String> {
    let lower = target.to_ascii_lowercase();
    if ["http://", "https://", "mailto:"].iter().any(|scheme| lower.starts_with(scheme)) {
        return None;
    }
    if target.is_empty() {
        return Some("the link has no target".to_owned());
    }
    let (path, anchor) = target.split_once('#').map_or((target, None), |(path, anchor)| (path, Some(anchor)));
    let path = percent_decoded(path.split_once('?').map_or(path, |(path, _)| path));
    let destination = if path.is_empty() {
        file.to_path_buf()
    } else {
        let folder = file.parent().expect("a documentation file is in a folder");
        let Some(destination) = resolve(root, folder, &path) else {
            return Some("the path leaves the repository".to_owned());
        };
        // Canonical, so that a symbolic link pointing out of the repository is caught too.
        match destination.canonicalize() {
            Ok(real) if real.starts_with(root) => real,
            Ok(_) => return Some("the path leaves the repository".to_owned()),
            Err(_) => return Some("no such file in the repository".to_owned()),
        }
    };
    let anchor = anchor.map(percent_decoded).filter(|anchor| !anchor.is_empty());
    match anchor {
        Some(anchor) if has_extension(&destination, &["md"]) && !anchors_of(&destination).contains(&anchor) => {
            Some(format!(
                "no heading of {} has the anchor #{anchor}",
                destination.strip_prefix(root).unwrap_or(&destination).display()
            ))
        }
        _ => None,
    }
}

#[test]
fn every_relative_link_in_the_docs_reaches_a_file_of_the_repository() {
    let root = repository_root();
    let mut cache: HashMap<PathBuf, HashSet<String>> = HashMap::new();
    let mut anchors_of = |path: &Path| cache.entry(path.to_path_buf()).or_insert_with(|| anchors(&read(path))).clone();
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in documentation(&root) {
        let text = read(&file);
        for (number, line) in prose_lines(&text) {
            for target in link_targets(&without_code_spans(line)) {
                checked += 1;
                if let Some(reason) = broken_link(&root, &file, &target, &mut anchors_of) {
                    broken.push(format!("{}: ({target}) {reason}", place(&root, &file, number)));
                }
            }
        }
    }
    assert!(checked > 0, "no links found: is the markdown parser broken?");
    assert!(broken.is_empty(), "{} broken links in the docs:\n{}", broken.len(), broken.join("\n"));
}

/// Whether `text` holds `word` with no letter, digit or '_' right before or after it.
fn names_word(text: &str, word: &str) -> bool {
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    text.match_indices(word)
        .any(|(at, _)| !is_word(text[..at].chars().next_back()) && !is_word(text[at + word.len()..].chars().next()))
}

#[test]
fn the_docs_name_no_document_outside_the_repository() {
    let root = repository_root();
    let mut files = files_under(&root, &|path| has_extension(path, &["rs", "yaml", "yml", "toml"]));
    let top_level = fs::read_dir(&root).expect("the repository root can be listed");
    let top_level_markdown = top_level.map(|entry| entry.expect("a readable folder entry").path());
    files.extend(top_level_markdown.filter(|path| path.is_file() && has_extension(path, &["md"])));
    files.extend(files_under(&root.join("docs"), &|path| has_extension(path, &["md"])));
    files.sort();
    files.dedup();

    let documents: Vec<String> = OUTSIDE_DOCUMENTS.iter().map(|pieces| pieces.concat()).collect();
    let mut offending = Vec::new();
    for file in &files {
        for (index, line) in read(file).lines().enumerate() {
            let named: Vec<&str> = documents.iter().map(String::as_str).filter(|name| names_word(line, name)).collect();
            if !named.is_empty() {
                offending.push(format!("{}: names {}", place(&root, file, index + 1), named.join(", ")));
            }
        }
    }
    assert!(files.len() > 10, "only {} files scanned: is the walk broken?", files.len());
    assert!(
        offending.is_empty(),
        "{} lines name a document outside the repository; point at docs/ instead:\n{}",
        offending.len(),
        offending.join("\n")
    );
}

mod parsing {
    use super::*;

    #[test]
    fn links_in_code_are_not_links_and_titles_are_not_targets() {
        let text = "a [x](one.md \"title\") `[y](two.md)` b [z](<three four.md>)\n```sh\n[w](five.md)\n```\n";
        let targets: Vec<String> =
            prose_lines(text).into_iter().flat_map(|(_, line)| link_targets(&without_code_spans(line))).collect();
        assert_eq!(targets, ["one.md", "three four.md"]);
    }

    #[test]
    fn headings_get_github_anchors() {
        let text = "# Steller\n## The `GET /api/usage` route\n## Errors\n## Errors\n### 2. Deploy (prod) ##\n";
        let found = anchors(text);
        for anchor in ["steller", "the-get-apiusage-route", "errors", "errors-1", "2-deploy-prod"] {
            assert!(found.contains(anchor), "{anchor} in {found:?}");
        }
    }

    #[test]
    fn a_path_above_the_root_leaves_the_repository() {
        let root = Path::new("/repo");
        assert_eq!(resolve(root, &root.join("docs"), "../README.md"), Some(root.join("README.md")));
        assert_eq!(resolve(root, &root.join("docs"), &format!("../{}x.md", OUTSIDE_FOLDER.concat())), None);
        assert_eq!(resolve(root, &root.join("docs/adr"), "/docs/api.md"), Some(root.join("docs/api.md")));
    }

    #[test]
    fn only_whole_words_are_names() {
        let name = OUTSIDE_DOCUMENTS[1].concat();
        assert!(names_word(&format!("see {name}."), &name));
        assert!(names_word(&format!("see docs/{name}"), &name));
        assert!(!names_word(&format!("see OPEN{name}"), &name));
        assert!(!names_word("see docs/api.md", &name));
    }
}
