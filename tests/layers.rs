//! The house's floors. Every module of the library stands on one floor, and its code may use
//! modules on its own floor or below, never above: the engine does not know the business, the
//! database does not know the engine, and only the composition root (`app`) knows everyone.
//! This test reads `src/` and fails on an import that reaches up, naming the file and the path.
//!
//! What counts: every `crate::…` path and every `super::…` path in non-test code. Test code
//! (`#[cfg(test)]` items and modules) may stand the whole house up around what it tests, as a
//! small composition root of its own. The binary (`main.rs` and its modules) is above all floors.

use std::collections::BTreeMap;
use std::path::Path;

/// The floors, bottom first. A module stands on the floor of the longest entry that is a prefix
/// of its path (`http::error` before `http`); a new module must be given a floor here.
const FLOORS: &[(&str, &[&str])] = &[
    (
        "ground: clocks, settings, languages, the error shape, embedded files",
        &["time", "config", "i18n", "http::error", "http::assets"],
    ),
    ("the database", &["db"]),
    (
        "HTTP plumbing and the state every handler shares",
        &["http", "auth::throttle"],
    ),
    ("the audit log", &["audit"]),
    ("rights and the data-scope predicate", &["access"]),
    ("who a caller is: sessions, passwords, users", &["auth"]),
    ("the organisation's names and actors", &["org"]),
    ("the entity engine and its registry", &["entity"]),
    ("the business modules, registered on the engine", &["crm"]),
    (
        "account and administration pages over the engine and the business",
        &[
            "auth::routes",
            "auth::setup",
            "auth::tokens",
            "access::roles",
            "org::users",
            "org::departments",
            "org::system",
            "org::audit_log",
        ],
    ),
    ("the demo company", &["demo"]),
    ("the composition root", &["app", "http::openapi", "lib"]),
];

/// The library's files that belong to the binary, not to a floor.
const BINARY: &[&str] = &["main", "files"];

fn floor_of(module: &str) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for (floor, (_, entries)) in FLOORS.iter().enumerate() {
        for entry in *entries {
            let matches = module == *entry || module.starts_with(&format!("{entry}::"));
            if matches && best.is_none_or(|(len, _)| entry.len() > len) {
                best = Some((entry.len(), floor));
            }
        }
    }
    best.map(|(_, floor)| floor)
}

/// `src/entity/store/read.rs` → `entity::store::read`; `src/db/mod.rs` → `db`.
fn module_path(relative: &str) -> String {
    let trimmed = relative.trim_end_matches(".rs");
    let trimmed = trimmed.strip_suffix("/mod").unwrap_or(trimmed);
    trimmed.replace('/', "::")
}

/// The source without comments, string literals and `#[cfg(test)]` items, and the names of the
/// child modules declared test-only (`#[cfg(test)] mod engine_tests;`).
fn shipped_code(source: &str) -> (String, Vec<String>) {
    let text = strip_comments_and_strings(source);
    let mut out = String::new();
    let mut test_modules = Vec::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at + "#[cfg(test)]".len()..];
        let end_of_line = item.find(';').unwrap_or(item.len());
        let opening = item.find('{').unwrap_or(item.len());
        if end_of_line < opening {
            let declaration = item[..end_of_line].trim();
            if let Some(name) = declaration.strip_prefix("mod ") {
                test_modules.push(name.trim().to_string());
            }
            rest = &item[(end_of_line + 1).min(item.len())..];
        } else {
            rest = &item[matching_brace(item, opening)..];
        }
    }
    out.push_str(rest);
    (out, test_modules)
}

/// The index just past the brace that closes the one at `opening`.
fn matching_brace(text: &str, opening: usize) -> usize {
    let mut depth = 0;
    for (i, c) in text.char_indices().skip_while(|(i, _)| *i < opening) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    text.len()
}

fn strip_comments_and_strings(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        let next = chars.get(i + 1).copied();
        let after_word = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        match chars[i] {
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            'r' if !after_word && matches!(next, Some('"' | '#')) => {
                let hashes = chars[i + 1..].iter().take_while(|c| **c == '#').count();
                if chars.get(i + 1 + hashes) != Some(&'"') {
                    out.push('r');
                    i += 1;
                    continue;
                }
                let closing: String = std::iter::once('"')
                    .chain("#".repeat(hashes).chars())
                    .collect();
                let body: String = chars[i + 2 + hashes..].iter().collect();
                let length = body.find(&closing).map_or(body.len(), |at| {
                    body[..at].chars().count() + closing.chars().count()
                });
                out.push_str("\"\"");
                i += 2 + hashes + length;
                continue;
            }
            '"' => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
                out.push_str("\"\"");
            }
            // A character literal ('"', '{', '\'') would confuse what follows; a lifetime ('a)
            // is kept.
            '\'' if next == Some('\\') => {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                out.push_str("' '");
            }
            '\'' if chars.get(i + 2) == Some(&'\'') => {
                i += 2;
                out.push_str("' '");
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// Every module path the code names: the paths of `use` trees, expanded, and `crate::…` or
/// `super::…` paths in expressions, resolved from `module`, the file's own.
fn named_paths(code: &str, module: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = find_word(rest, "use ") {
        let after = &rest[at + 4..];
        let end = after.find(';').unwrap_or(after.len());
        expand_use_tree(after[..end].trim(), "", &mut paths);
        rest = &after[end..];
    }
    let tokens = code.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'));
    paths.extend(tokens.filter(|t| t.contains("::")).map(str::to_string));
    let parent = parent_of(module);
    paths
        .into_iter()
        .filter_map(|path| resolve(&path, &parent))
        .collect()
}

fn find_word(text: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = text[from..].find(word) {
        let at = from + found;
        let before = text[..at].chars().next_back();
        if before.is_none_or(|c| !(c.is_alphanumeric() || c == '_')) {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e`.
fn expand_use_tree(tree: &str, prefix: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or(tree).trim();
        let path = path.trim_end_matches("::*");
        out.push(join(prefix, path));
        return;
    };
    let head = tree[..open].trim().trim_end_matches("::");
    let prefix = join(prefix, head);
    let close = matching_brace(tree, open);
    let inner = &tree[open + 1..close - 1];
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                expand_use_tree(&inner[start..i], &prefix, out);
                start = i + 1;
            }
            _ => {}
        }
    }
    if !inner[start..].trim().is_empty() {
        expand_use_tree(&inner[start..], &prefix, out);
    }
}

fn join(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path.is_empty() || path == "self") {
        (true, _) => path.to_string(),
        (false, true) => prefix.to_string(),
        (false, false) => format!("{prefix}::{path}"),
    }
}

/// The module a path in `module` names as `super` (for `entity::bulk`, and for `entity` whose
/// file is `entity/mod.rs`, alike: the module's parent).
fn parent_of(module: &str) -> String {
    module.rsplit_once("::").map_or("", |(p, _)| p).to_string()
}

/// A path named in the code as a crate path (`crate::db::query`), or `None` for other crates'.
fn resolve(path: &str, parent: &str) -> Option<String> {
    if let Some(inside) = path.strip_prefix("crate::") {
        return Some(inside.to_string());
    }
    let mut base = parent.to_string();
    let mut rest = path.strip_prefix("super::")?;
    while let Some(further) = rest.strip_prefix("super::") {
        base = parent_of(&base);
        rest = further;
    }
    Some(join(&base, rest))
}

/// Each upward import of the files given (path relative to `src/`, text), and each module on
/// no floor, as one line naming the file, the module, the path and both floors.
fn violations(files: &BTreeMap<String, String>) -> Vec<String> {
    let mut test_only = Vec::new();
    let mut shipped = BTreeMap::new();
    for (relative, source) in files {
        let module = module_path(relative);
        let (code, tests) = shipped_code(source);
        // `mod x;` declares `module::x`, in a `mod.rs` and in a file such as `entity/store.rs`
        // (the crate root declares no test-only module).
        test_only.extend(tests.into_iter().map(|t| join(&module, &t)));
        shipped.insert(relative.clone(), (module, code));
    }
    let mut found = Vec::new();
    for (relative, (module, code)) in &shipped {
        if BINARY.contains(&module.as_str()) || test_only.contains(module) {
            continue;
        }
        let Some(floor) = floor_of(module) else {
            found.push(format!(
                "{relative}: `{module}` stands on no floor; give it one in FLOORS"
            ));
            continue;
        };
        for path in named_paths(code, module) {
            match floor_of(&path) {
                Some(target) if target > floor => found.push(format!(
                    "{relative}: `{module}` ({}) uses `{path}` ({}), a floor above",
                    FLOORS[floor].0, FLOORS[target].0
                )),
                _ => {}
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

fn read_sources(dir: &Path, root: &Path, files: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            read_sources(&path, root, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).expect("under src/");
            let text = std::fs::read_to_string(&path).expect("a source file");
            files.insert(relative.to_string_lossy().replace('\\', "/"), text);
        }
    }
}

#[test]
fn every_module_imports_only_its_own_floor_or_below() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    read_sources(&root, &root, &mut files);
    assert!(files.len() > 50, "the sources were found");
    let found = violations(&files);
    assert!(
        found.is_empty(),
        "imports that reach up a floor:\n{}",
        found.join("\n")
    );
}

fn tree(files: &[(&str, &str)]) -> BTreeMap<String, String> {
    files
        .iter()
        .map(|(path, text)| (path.to_string(), text.to_string()))
        .collect()
}

/// The check can fail: upward imports planted in every form the code uses are each reported,
/// and the same paths pointing down, in comments, strings or tests are not.
#[test]
fn a_planted_upward_import_is_reported() {
    let planted = tree(&[
        ("db/mod.rs", "use crate::entity::bigrams;\nfn f() {}"),
        ("db/query.rs", "fn f() { crate::crm::ENTITIES.len(); }"),
        (
            "entity/bulk.rs",
            "use crate::{access::Action, crm::{self, pool}};",
        ),
        ("auth/users.rs", "use super::setup::is_needed;"),
        ("entity/store/read.rs", "use super::super::super::demo;"),
        ("tickets/mod.rs", "use crate::db;"),
    ]);
    let found = violations(&planted);
    let expected = [
        "auth/users.rs: `auth::users`",
        "db/mod.rs: `db`",
        "db/query.rs: `db::query`",
        "entity/bulk.rs: `entity::bulk`",
        "entity/store/read.rs: `entity::store::read`",
        "tickets/mod.rs: `tickets`",
    ];
    let reported: Vec<&str> = found
        .iter()
        .filter_map(|line| line.split(" (").next())
        .map(|head| head.split(" stands").next().unwrap_or(head))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(reported, expected, "{found:#?}");
    let harmless = tree(&[
        (
            "entity/store/write.rs",
            "//! Not `crate::crm`.\nuse crate::db::Cached;\nfn f() { let s = \"crate::app\"; }\n\
             #[cfg(test)]\nmod tests { use crate::crm::customers::CUSTOMERS; }",
        ),
        ("entity/mod.rs", "#[cfg(test)]\nmod engine_tests;"),
        ("entity/engine_tests.rs", "use crate::crm::find;"),
        ("app.rs", "use crate::{crm, demo};"),
    ]);
    assert_eq!(violations(&harmless), Vec::<String>::new());
}
