//! The source trees point one way (`../shared/DESIGN.md`, "Layout"): for the app (`components/api/src`) and the
//! host (`host/src`), every `crate::`, `super::` and `self::` path in code (not in comments or unit tests) is read,
//! resolved to the module (file) it names, and checked: no module may name a module of a higher layer, and no set
//! of modules may name each other in a cycle. A small reader of paths, not a Rust parser: enough for the project's
//! own code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A crate's source tree and the rank of each top-level module (higher ranks may name lower ones, never the
/// reverse; the crate root and `main` are the entry and may name anything).
struct Tree {
    src: &'static str,
    layers: &'static [(&'static str, u8)],
}

/// The app: routes -> http -> domain -> store -> config -> the vocabulary and the pure components' bindings.
const APP: Tree = Tree {
    src: "components/api/src",
    layers: &[("routes", 6), ("http", 5), ("domain", 4), ("store", 3), ("config", 2), ("model", 1), ("bindings", 1)],
};

/// The host: serve -> runtime -> capabilities (one per Spin interface, on small views) -> app (the manifest and
/// what it says).
const HOST: Tree = Tree { src: "host/src", layers: &[("serve", 4), ("runtime", 3), ("capabilities", 2), ("app", 1)] };

/// Every module of a tree: its path (`a::b`) and its code without comment lines and unit tests.
fn modules(root: &Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let relative = path.strip_prefix(root).unwrap().with_extension("");
            let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
                parts.pop();
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // Unit tests (at the end of a file, by convention) may name whatever they test.
            let code: String = text
                .lines()
                .take_while(|line| line.trim() != "#[cfg(test)]")
                .filter(|line| !line.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            found.insert(parts.join("::"), code);
        }
    }
    found
}

/// The modules a file declares (`mod name;`), whose paths it may name without `self::`.
fn children(code: &str) -> Vec<String> {
    code.lines()
        .filter_map(|line| line.trim().trim_start_matches("pub ").strip_prefix("mod "))
        .filter_map(|rest| rest.strip_suffix(';'))
        .map(|name| format!("{name}::"))
        .collect()
}

/// The paths a piece of code names from `crate`, `super`, `self` or a module it declares (as `self::`), with one
/// level of `{a, b}` expanded.
fn named_paths(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let starts: Vec<String> =
        ["crate::", "super::", "self::"].map(str::to_owned).into_iter().chain(children(code)).collect();
    for start in &starts {
        let relative = !["crate::", "super::", "self::"].contains(&start.as_str());
        let mut rest = code;
        while let Some(at) = rest.find(start) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at..];
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
            let named = rest[..end].trim_end_matches(':');
            let path = if relative { format!("self::{named}") } else { named.to_owned() };
            let boundary = before.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'));
            if boundary && rest[end..].starts_with('{') {
                let group = &rest[end + 1..rest[end..].find('}').map_or(rest.len(), |close| end + close)];
                for item in group.split(',') {
                    let item = item.split_whitespace().next().unwrap_or("").trim_end_matches(',');
                    if !item.is_empty() && item != "self" {
                        paths.push(format!("{path}::{item}"));
                    } else {
                        paths.push(path.clone());
                    }
                }
            } else if boundary {
                paths.push(path);
            }
            rest = &rest[end..];
        }
    }
    paths
}

/// The module `path` names, seen from module `from`: the longest known module it starts with (or its first
/// segment, for an inline module such as `bindings`).
fn resolve(from: &str, path: &str, known: &BTreeSet<String>) -> Option<String> {
    let mut segments: Vec<&str> = if from.is_empty() { Vec::new() } else { from.split("::").collect() };
    let mut rest = path.split("::").peekable();
    match rest.next()? {
        "crate" => segments.clear(),
        "super" => {
            segments.pop();
            while rest.peek() == Some(&"super") {
                rest.next();
                segments.pop();
            }
        }
        "self" => {}
        _ => return None,
    }
    segments.extend(rest);
    (1..=segments.len())
        .rev()
        .map(|n| segments[..n].join("::"))
        .find(|candidate| known.contains(candidate))
        .or_else(|| segments.first().map(|first| (*first).to_owned()))
}

/// The layer rank of `module` (`None`: the crate root, free to name anything).
fn rank(tree: &Tree, module: &str) -> Option<u8> {
    let top = module.split("::").next().unwrap_or("");
    tree.layers.iter().find(|(name, _)| *name == top).map(|(_, rank)| *rank)
}

/// The cycles among `edges`, each as the modules on it.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        found: &mut Vec<Vec<String>>,
    ) {
        if let Some(at) = stack.iter().position(|on| on == node) {
            found.push(stack[at..].to_vec());
            return;
        }
        if done.contains(node) {
            return;
        }
        stack.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            visit(next, edges, stack, done, found);
        }
        stack.pop();
        done.insert(node.to_owned());
    }
    let mut found = Vec::new();
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        visit(node, edges, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

/// The problems of `tree`: imports against the layers, and cycles.
fn problems(tree: &Tree, root: &Path) -> Vec<String> {
    let modules = modules(&root.join(tree.src));
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for (module, code) in &modules {
        for path in named_paths(code) {
            let Some(target) = resolve(module, &path, &known) else { continue };
            if target == *module {
                continue;
            }
            if let (Some(from), Some(to)) = (rank(tree, module), rank(tree, &target))
                && to > from
            {
                problems.push(format!("{}: {module} names {path} (layer {to} above {from})", tree.src));
            }
            edges.entry(module.clone()).or_default().insert(target);
        }
    }
    for cycle in cycles(&edges) {
        problems.push(format!("{}: import cycle {}", tree.src, cycle.join(" -> ")));
    }
    problems
}

fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

#[test]
fn the_app_imports_only_downwards_and_without_cycles() {
    let problems = problems(&APP, repository());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_host_imports_only_downwards_and_without_cycles() {
    let problems = problems(&HOST, repository());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_checker_sees_an_upward_import_and_a_cycle() {
    let dir = std::env::temp_dir().join(format!("layers-{}", std::process::id()));
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("store")).unwrap();
    std::fs::write(src.join("lib.rs"), "pub mod store;\npub mod routes;\n").unwrap();
    std::fs::write(src.join("store/mod.rs"), "pub mod a;\npub mod b;\nuse crate::routes::Handler;\npub use a::A;\n")
        .unwrap();
    std::fs::write(src.join("store/a.rs"), "use super::b::{B, C};\n// use crate::routes::x; (a comment)\n").unwrap();
    std::fs::write(src.join("store/b.rs"), "use crate::store::a::A;\n").unwrap();
    std::fs::write(src.join("routes.rs"), "use crate::store::a::A;\n").unwrap();
    let tree = Tree { src: "src", layers: &[("routes", 2), ("store", 1)] };
    let problems = problems(&tree, &dir);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("store names crate::routes::Handler"), "{problems:?}");
    assert!(problems[1].contains("import cycle store::a -> store::b"), "{problems:?}");
    // A parent naming its child (`pub use a::A`) while the child names the parent would be a cycle too.
    assert!(named_paths("pub mod a;\npub use a::A;").contains(&"self::a::A".to_owned()));
}

#[test]
fn paths_are_read_with_their_groups() {
    let code = "use crate::store::{factors, users::User};\nlet x = super::Ctx::new(); use self::a::b; x::y::z;";
    assert_eq!(
        named_paths(code),
        ["crate::store::factors", "crate::store::users::User", "super::Ctx::new", "self::a::b"]
    );
}
