//! The layering of `query-api/src`, checked from the source (no servers): every
//! `crate::...` and `super::...` path of a module file is resolved to the file module it
//! names, and the graph of file modules must have no cycle (a module importing its own
//! descendants only through `mod` declarations). The top-level layers must also only look
//! down: `query` never names `auth` or `http`, `auth` never names `http`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `src/` by its module path (`query::logs::stream`); `lib` and
/// `main` are the crate roots.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().map(String::as_str) == Some("mod") {
                parts.pop();
            }
            out.insert(parts.join("::"), path);
        }
    }
    out
}

/// The longest known module that is a prefix of `path` (`query::list::parse` ->
/// `query::list`).
fn resolve(known: &BTreeMap<String, PathBuf>, path: &[String]) -> Option<String> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|m| known.contains_key(m))
}

/// The modules `module`'s file names through `crate::` and `super::` paths (in `use`
/// lines, also inside braces, and in expressions), itself and its ancestors left out.
fn imports(known: &BTreeMap<String, PathBuf>, module: &str, text: &str) -> BTreeSet<String> {
    let own: Vec<String> = module.split("::").map(str::to_owned).collect();
    let mut out = BTreeSet::new();
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let bytes = code.as_bytes();
    for (start, word) in [("crate::", 0usize), ("super::", 1usize)] {
        let _ = word;
        let mut from = 0;
        while let Some(i) = code[from..].find(start) {
            let at = from + i;
            from = at + start.len();
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
                continue;
            }
            // The base: the crate root, or the parent of this file's module (`super` of a
            // `mod.rs` or of `a.rs` is the module's parent either way).
            let mut base: Vec<String> = if start == "crate::" {
                Vec::new()
            } else {
                own[..own.len().saturating_sub(1)].to_vec()
            };
            let mut rest = &code[from..];
            while let Some(r) = rest.strip_prefix("super::") {
                base.pop();
                rest = r;
            }
            // `a::b::{c, d::e}`: the path up to a brace, then each item of the braces.
            let head: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let mut prefix = base.clone();
            prefix.extend(
                head.split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            );
            let mut paths = vec![prefix.clone()];
            let after = &rest[head.len()..];
            if let Some(group) = after.strip_prefix('{') {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                for item in group.split(',') {
                    let mut p = prefix.clone();
                    p.extend(
                        item.trim()
                            .split("::")
                            .map(|s| s.split_whitespace().next().unwrap_or("").to_owned())
                            .filter(|s| !s.is_empty() && s != "self"),
                    );
                    paths.push(p);
                }
            }
            for p in paths {
                if let Some(m) = resolve(known, &p) {
                    let ancestor =
                        own.starts_with(&m.split("::").map(str::to_owned).collect::<Vec<_>>());
                    if m != module && !ancestor && m != "lib" {
                        out.insert(m);
                    }
                }
            }
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let known = modules(&src);
    known
        .iter()
        .filter(|(m, _)| m.as_str() != "lib" && m.as_str() != "main")
        .map(|(m, path)| {
            let text = std::fs::read_to_string(path).unwrap();
            (m.clone(), imports(&known, m, &text))
        })
        .collect()
}

/// A cycle of `graph`, if any (depth-first search).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        g: &BTreeMap<String, BTreeSet<String>>,
        node: &str,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_owned());
        for next in g.get(node).into_iter().flatten() {
            if let Some(c) = visit(g, next, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(c) = visit(graph, node, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

#[test]
fn no_import_cycle_between_modules() {
    let g = graph();
    assert!(g.len() > 20, "modules found: {:?}", g.keys());
    assert!(
        g["http::lists"].contains("query::list"),
        "the parser sees imports"
    );
    if let Some(cycle) = find_cycle(&g) {
        panic!("import cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn layers_only_look_down() {
    let top = |m: &str| m.split("::").next().unwrap_or("").to_owned();
    let rank = |m: &str| match top(m).as_str() {
        "config" | "error" | "metrics" | "commands" | "principal" | "token_cache" | "state" => 0,
        "query" => 1,
        "auth" => 2,
        "http" => 3,
        _ => 4,
    };
    for (module, deps) in graph() {
        for dep in deps {
            if top(&dep) != top(&module) {
                assert!(
                    rank(&dep) < rank(&module) || (rank(&module) == 0 && rank(&dep) == 0),
                    "{module} imports {dep}, a layer at or above it"
                );
            }
        }
    }
}

#[test]
fn the_checker_finds_a_cycle() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.insert("a".into(), ["b".to_owned()].into());
    g.insert("b".into(), ["a".to_owned()].into());
    assert!(find_cycle(&g).is_some());
}
