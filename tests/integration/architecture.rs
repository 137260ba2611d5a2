//! The code map's invariants that a grep can check: the top-level modules import each other
//! in one direction only (no cycle), the engine stays free of model knowledge, and the state
//! files of `src/components/` keep their fields to themselves.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module -> the top-level modules its files name as `crate::X`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(&src).expect("under src");
            let first = relative.components().next().expect("a component");
            let module = first
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string();
            if module == "lib" || module == "main" {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read a source file");
            let uses = graph.entry(module.clone()).or_default();
            for line in text.lines() {
                let code = line.split("//").next().unwrap_or("");
                for (at, _) in code.match_indices("crate::") {
                    let name: String = code[at + "crate::".len()..]
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() && name != module {
                        uses.insert(name);
                    }
                }
            }
        }
    }
    graph
}

#[test]
fn top_level_modules_import_each_other_without_a_cycle() {
    let graph = imports();
    // The scan sees the imports that must be there (so an empty graph cannot pass).
    assert!(graph["components"].contains("scenario") && graph["cli"].contains("metrics"));
    // Kahn's algorithm: repeatedly remove modules that import nothing left.
    let mut left = graph.clone();
    loop {
        let free: Vec<String> = left
            .iter()
            .filter(|(_, uses)| uses.iter().all(|u| !left.contains_key(u)))
            .map(|(m, _)| m.clone())
            .collect();
        if free.is_empty() {
            break;
        }
        for m in free {
            left.remove(&m);
        }
    }
    assert!(
        left.is_empty(),
        "these modules import each other in a cycle: {left:#?}"
    );
}

#[test]
fn the_engine_and_the_sampler_know_nothing_of_the_model() {
    let graph = imports();
    assert_eq!(
        graph["engine"],
        BTreeSet::new(),
        "engine imports {:?}",
        graph["engine"]
    );
    let distribution: Vec<&String> = graph["distribution"].iter().collect();
    assert_eq!(
        distribution,
        ["engine"],
        "distribution imports {distribution:?}"
    );
    for (module, uses) in &graph {
        if module != "cli" {
            assert!(!uses.contains("cli"), "{module} imports cli");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Files within one module: the same rule one level down. A file's node is its path under the
// module's directory (`text.rs`, `plot/run.rs`); a folder's `mod.rs` stands for the folder, so
// `plot/run.rs` naming `super::sig` imports `plot/mod.rs`.

/// The code of a Rust file with comments, string literals and character literals blanked out
/// (newlines kept), so that only real paths are left to find.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let (c, next) = (chars[i], chars.get(i + 1).copied());
        let ident_before = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        // How many characters the comment or literal starting here spans (0: plain code).
        let span = if c == '/' && next == Some('/') {
            (i..chars.len())
                .find(|&j| chars[j] == '\n')
                .unwrap_or(chars.len())
                - i
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
            j - i
        } else if c == 'r' && matches!(next, Some('"' | '#')) && !ident_before {
            let hashes = chars[i + 1..].iter().take_while(|&&h| h == '#').count();
            if chars.get(i + 1 + hashes) == Some(&'"') {
                let body = i + 2 + hashes;
                let end = (body..chars.len())
                    .find(|&j| {
                        chars[j] == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#'))
                    })
                    .map_or(chars.len(), |j| j + 1 + hashes);
                end - i
            } else {
                0
            }
        } else if c == '"' || (c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')))
        {
            // A string, or a character literal (`'x'`, `'\n'`; not a lifetime such as `'a`).
            let mut j = i + 1;
            while j < chars.len() && chars[j] != c {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            (j + 1).min(chars.len()) - i
        } else {
            0
        };
        if span == 0 {
            out.push(c);
            i += 1;
        } else {
            out.extend(chars[i..i + span].iter().map(|&c| blank(c)));
            i += span;
        }
    }
    out
}

/// The module path of a file under its module's directory: `plot/run.rs` is `plot::run`,
/// `plot/mod.rs` is `plot`, `mod.rs` the module itself.
fn module_of(file: &str) -> Vec<String> {
    let mut parts: Vec<String> = file
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The files of the module in `dir` (named by `module`, e.g. `crate::report`) that `text`, the
/// file `file` under `dir`, imports: through `crate::report::x`, `super::`, `self::` or a child
/// module it declares (`mod run;` then `run::figures`), `use` trees expanded (`use super::{a,
/// b::{c, d}}`). A path names the longest file its segments lead to (`super::plot::run::usd`
/// is `plot/run.rs`, `super::sig` from `plot/run.rs` is `plot/mod.rs`). Inside an inline module
/// (`mod tests { ... }`) `super` is the file itself. The file itself is left out.
fn imports_of(text: &str, file: &str, module: &str, files: &BTreeSet<String>) -> BTreeSet<String> {
    let code: Vec<char> = code_only(text).chars().collect();
    let prefix: Vec<String> = module.split("::").skip(1).map(String::from).collect();
    let here: Vec<String> = [prefix.clone(), module_of(file)].concat();
    let by_module: BTreeMap<Vec<String>, &String> = files
        .iter()
        .map(|f| ([prefix.clone(), module_of(f)].concat(), f))
        .collect();
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let ident_at = |i: usize| -> String {
        code[i.min(code.len())..]
            .iter()
            .take_while(|&&c| is_ident(c))
            .collect()
    };
    let skip_space = |mut i: usize| {
        while code.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        i
    };
    // The child modules the file declares (`mod run;`).
    let mut children = BTreeSet::new();
    // Each path found, with how many inline modules deep it sits.
    let mut paths: Vec<(Vec<String>, usize)> = Vec::new();
    // The brace depths at which the inline modules we are inside opened.
    let mut inline: Vec<usize> = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    while i < code.len() {
        let c = code[i];
        if c == '{' {
            depth += 1;
        } else if c == '}' {
            depth -= 1;
            if inline.last() == Some(&depth) {
                inline.pop();
            }
        }
        if !is_ident(c) || (i > 0 && (is_ident(code[i - 1]) || code[i - 1] == ':')) {
            i += 1;
            continue;
        }
        let name = ident_at(i);
        let end = i + name.chars().count();
        if name == "mod" {
            let module = ident_at(skip_space(end));
            match code.get(skip_space(skip_space(end) + module.chars().count())) {
                Some('{') => inline.push(depth),
                Some(';') if inline.is_empty() => {
                    children.insert(module);
                }
                _ => {}
            }
        }
        let starts_path = code.get(end) == Some(&':') && code.get(end + 1) == Some(&':');
        let anchored = ["crate", "super", "self"].contains(&name.as_str());
        if starts_path && (anchored || (inline.is_empty() && children.contains(&name))) {
            let (found, after) = use_tree(i, &code, &ident_at, &skip_space);
            paths.extend(found.into_iter().map(|p| (p, inline.len())));
            // A use tree's own braces are consumed with it.
            i = after.max(end);
            continue;
        }
        i = end;
    }
    let mut out = BTreeSet::new();
    for (path, inline_depth) in paths {
        let absolute: Vec<String> = match path[0].as_str() {
            "crate" => path[1..].to_vec(),
            "super" | "self" => {
                // Inline modules add a level that names no file.
                let mut at = [here.clone(), vec![String::from("{inline}"); inline_depth]].concat();
                let mut rest = &path[..];
                while let Some(first) = rest.first() {
                    match first.as_str() {
                        "super" => {
                            at.pop();
                        }
                        "self" => {}
                        _ => break,
                    }
                    rest = &rest[1..];
                }
                [at, rest.to_vec()].concat()
            }
            _ => [here.clone(), path.clone()].concat(),
        };
        let named = (0..=absolute.len())
            .rev()
            .find_map(|k| by_module.get(&absolute[..k]));
        if let Some(&named) = named {
            if named != file && absolute.starts_with(&prefix) {
                out.insert(named.clone());
            }
        }
    }
    out
}

/// The paths of a use tree (or a plain path) starting at `i`, and where it ends.
fn use_tree(
    i: usize,
    code: &[char],
    ident_at: &dyn Fn(usize) -> String,
    skip_space: &dyn Fn(usize) -> usize,
) -> (Vec<Vec<String>>, usize) {
    let mut path = Vec::new();
    let mut i = skip_space(i);
    loop {
        let name = ident_at(i);
        if name.is_empty() {
            break;
        }
        i = skip_space(i + name.chars().count());
        // `use super::plot::{self, run}`: `self` is the path so far.
        if name != "self" || path.is_empty() {
            path.push(name);
        }
        if code.get(i) != Some(&':') || code.get(i + 1) != Some(&':') {
            break;
        }
        i = skip_space(i + 2);
        if code.get(i) == Some(&'{') {
            let mut all = Vec::new();
            i += 1;
            loop {
                let (inner, end) = use_tree(i, code, ident_at, skip_space);
                all.extend(
                    inner
                        .into_iter()
                        .filter(|p| !p.is_empty())
                        .map(|p| [path.clone(), p].concat()),
                );
                i = skip_space(end);
                match code.get(i) {
                    Some(',') => i += 1,
                    Some('}') => return (all, i + 1),
                    _ => return (all, i),
                }
            }
        }
    }
    (vec![path], i)
}

/// File -> the files of the same module it imports, for the module whose directory is
/// `src/DIR` (`report`, `scenario`, `components`); files named by their path under it.
fn file_graph(dir: &str) -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir);
    let mut texts = BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).expect("read a module directory") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let name = path
                    .strip_prefix(&root)
                    .expect("under the module")
                    .to_string_lossy()
                    .replace('\\', "/");
                texts.insert(
                    name,
                    std::fs::read_to_string(&path).expect("read a source file"),
                );
            }
        }
    }
    let files: BTreeSet<String> = texts.keys().cloned().collect();
    let module = format!("crate::{dir}");
    texts
        .iter()
        .map(|(file, text)| (file.clone(), imports_of(text, file, &module, &files)))
        .collect()
}

/// The groups of nodes that import each other in a cycle: the strongly connected components
/// of more than one node, each as its nodes and the imports between them (`a -> b`).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    let reach = |from: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(n) = stack.pop() {
            for m in graph.get(&n).into_iter().flatten() {
                if seen.insert(m.clone()) {
                    stack.push(m.clone());
                }
            }
        }
        seen
    };
    let reached: BTreeMap<&String, BTreeSet<String>> =
        graph.keys().map(|n| (n, reach(n))).collect();
    let mut groups: Vec<BTreeSet<String>> = Vec::new();
    for (n, from_n) in &reached {
        if !from_n.contains(*n) || groups.iter().any(|g| g.contains(*n)) {
            continue;
        }
        let group: BTreeSet<String> = from_n
            .iter()
            .filter(|m| reached.get(m).is_some_and(|r| r.contains(*n)))
            .cloned()
            .collect();
        groups.push(group);
    }
    groups
}

/// A group's imports between its own members, as `a -> b` lines, for a failure message.
fn describe(graph: &BTreeMap<String, BTreeSet<String>>, group: &BTreeSet<String>) -> String {
    let mut lines = Vec::new();
    for n in group {
        for m in graph[n].intersection(group) {
            lines.push(format!("  {n} -> {m}"));
        }
    }
    lines.join("\n")
}

#[test]
fn files_of_report_scenario_and_components_import_each_other_without_a_cycle() {
    let mut problems = Vec::new();
    for (dir, seen) in [
        ("report", ("html.rs", "figure.rs")),
        ("scenario", ("load.rs", "validate.rs")),
        ("components", ("system/mod.rs", "service.rs")),
    ] {
        let graph = file_graph(dir);
        // The scan sees an import that must be there (so an empty graph cannot pass).
        assert!(graph[seen.0].contains(seen.1), "src/{dir}: {graph:#?}");
        for group in cycles(&graph) {
            problems.push(format!(
                "files of src/{dir} import each other in a cycle:\n{}",
                describe(&graph, &group)
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// The layers of `src/components/` (see ARCHITECTURE.md): `entity.rs` imports no other
/// component; no policy or state file (outside `system/`) imports `System`'s files; and each
/// glue file `system/<concern>.rs` imports no other glue file, only `system/mod.rs` (which
/// defines `System`) and the files below it.
#[test]
fn components_are_layered_entity_then_policies_then_system_then_glue() {
    let graph = file_graph("components");
    assert!(
        graph["system/service.rs"].contains("system/mod.rs"),
        "src/components: {graph:#?}"
    );
    let mut problems = Vec::new();
    for (file, uses) in &graph {
        let glue = file.starts_with("system/") && file != "system/mod.rs";
        for used in uses {
            let wrong = if file == "entity.rs" {
                used != "mod.rs"
            } else if !file.starts_with("system/") {
                used.starts_with("system/")
            } else {
                glue && used.starts_with("system/") && used != "system/mod.rs"
            };
            if wrong {
                problems.push(format!("  {file} -> {used}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "imports across the layers of src/components:\n{}",
        problems.join("\n")
    );
}

/// Only the fleet changes a replica's lifecycle state: `Replica::state` is private to
/// `fleet.rs` (so the compiler refuses an assignment anywhere else), and within `fleet.rs` one
/// function, `set_state`, assigns it (and keeps the counts and ready lists as it does).
#[test]
fn only_the_fleet_assigns_a_replica_state() {
    let fleet = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/components/fleet.rs"),
    )
    .expect("read fleet.rs");
    let code = code_only(&fleet);
    let replica = &code[code
        .find("pub struct Replica {")
        .expect("Replica is in fleet.rs")..];
    let body = &replica[..replica.find("\n}").expect("the struct ends")];
    assert!(
        body.lines().any(|l| l.trim() == "state: ReplicaState,"),
        "Replica::state must stay private to fleet.rs:\n{body}"
    );
    // Each assignment of a `state` field in fleet.rs, by the function it is in.
    let mut assigned_in = Vec::new();
    let mut function = String::new();
    for line in code.lines() {
        if let Some(at) = line.find("fn ") {
            function = line[at + 3..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
        }
        if line.contains(".state = ") {
            assigned_in.push(function.clone());
        }
    }
    assert_eq!(assigned_in, ["set_state"]);
}

/// The state files of `src/components/` whose structs may still show fields outside their
/// file, and why. Everything else reaches a state file's state only through its owner's
/// methods (issue #13: the glue calls owners, not fields). `"*"` stands for every struct of
/// the file.
const WIDE_FIELDS_ALLOWED: &[(&str, &str, &str)] = &[(
    "fleet.rs",
    "Counts",
    "a copy the fleet hands out (ready, starting, draining), read like a tuple: \
         changing it changes no fleet",
)];

/// The fields of the structs in a file's code (comments and literals blanked) that are seen
/// outside it: `(struct, field)` for each field declared `pub`, `pub(crate)`, `pub(super)` or
/// `pub(in ...)`, in braces or in a tuple struct's parentheses.
fn wide_fields(code: &str) -> Vec<(String, String)> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut wide = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find("struct ") {
        let start = from + at;
        from = start + "struct ".len();
        if code[..start].chars().next_back().is_some_and(ident) {
            continue; // `unstruct `, not the keyword
        }
        let name: String = code[from..].chars().take_while(|&c| ident(c)).collect();
        let after = &code[from + name.len()..];
        let Some(open) = after.find(['{', '(', ';']) else {
            continue;
        };
        let (opening, closing) = match after.as_bytes()[open] {
            b'{' => ('{', '}'),
            b'(' => ('(', ')'),
            _ => continue, // a unit struct
        };
        let mut depth = 0;
        let mut end = after.len();
        for (i, c) in after[open..].char_indices() {
            if c == opening {
                depth += 1;
            } else if c == closing {
                depth -= 1;
                if depth == 0 {
                    end = open + i;
                    break;
                }
            }
        }
        let body = &after[open + 1..end];
        // A field is written `pub name: Type` (braces) or `pub Type` (a tuple), one per line
        // as rustfmt lays them out, or all on the struct's line for a short tuple struct.
        let pieces: Vec<&str> = if opening == '{' {
            body.lines().collect()
        } else {
            body.split(',').collect()
        };
        for piece in pieces {
            let first = piece.split(|c: char| !ident(c)).find(|w| !w.is_empty());
            if first == Some("pub") {
                wide.push((name.clone(), piece.trim().to_string()));
            }
        }
    }
    wide
}

/// No state file of `src/components/` (every file but `entity.rs`, the plain data that every
/// component names, `mod.rs`, and the glue in `system/`) lets a struct field be seen outside
/// it, except as `WIDE_FIELDS_ALLOWED` says: the glue changes state through its owner's
/// methods, so an owner's rule (a backlog's count, a region's DNS answers, a replica's queue)
/// holds wherever the glue is.
#[test]
fn state_files_keep_their_fields_private_to_their_owner() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/components");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("read src/components")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|f| f.ends_with(".rs") && f != "entity.rs" && f != "mod.rs")
        .collect();
    files.sort();
    assert!(files.len() > 10, "the state files: {files:?}");
    let mut problems = Vec::new();
    let mut used = vec![false; WIDE_FIELDS_ALLOWED.len()];
    for file in &files {
        let text = std::fs::read_to_string(dir.join(file)).expect("read a state file");
        for (name, field) in wide_fields(&code_only(&text)) {
            let allowed = WIDE_FIELDS_ALLOWED
                .iter()
                .position(|&(f, s, _)| f == file && (s == "*" || s == name));
            match allowed {
                Some(entry) => used[entry] = true,
                None => problems.push(format!("  {file}: {name} {{ {field} }}")),
            }
        }
    }
    // An exception no field needs any more goes, so the list stays the list of what is left.
    for (entry, &(file, name, _)) in WIDE_FIELDS_ALLOWED.iter().enumerate() {
        if !used[entry] {
            problems.push(format!(
                "  {file}: {name} is allowed wide fields it no longer has"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "fields seen outside their state file (make them private and give the owner a method \
         named for what the glue does):\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_field_rule_finds_every_visibility_and_only_fields() {
    let code = code_only(
        r#"
        /// A struct in a comment: pub struct Doc { pub x: u32 }
        pub struct Open {
            pub a: u32,
            pub(super) b: Vec<u8>,
            pub(crate) c: u8,
            d: u8,
            pub(in crate::components) e: u8,
        }
        pub(super) struct Closed<'m> {
            spec: &'m str,
            republic: u8,
        }
        struct Pair(pub u32, u64);
        struct Hidden(u32);
        pub struct Unit;
        impl Open {
            pub fn f(&self) -> u32 { self.a }
        }
        const S: &str = "struct Text { pub y: u8 }";
    "#,
    );
    let wide: Vec<String> = wide_fields(&code)
        .into_iter()
        .map(|(s, f)| format!("{s}.{f}"))
        .collect();
    assert_eq!(
        wide,
        [
            "Open.pub a: u32,",
            "Open.pub(super) b: Vec<u8>,",
            "Open.pub(crate) c: u8,",
            "Open.pub(in crate::components) e: u8,",
            "Pair.pub u32",
        ]
    );
}

#[test]
fn the_cycle_rule_finds_cycles_and_only_cycles() {
    let graph = |edges: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges {
            g.entry(a.to_string()).or_default().insert(b.to_string());
            g.entry(b.to_string()).or_default();
        }
        g
    };
    // A layered graph (a diamond): no cycle.
    let layered = graph(&[
        ("html", "plot"),
        ("html", "format"),
        ("plot", "format"),
        ("plot", "figure"),
    ]);
    assert!(cycles(&layered).is_empty());
    // plot -> html -> plot, and a longer loop; `top` imports into a cycle without being in it.
    let looped = graph(&[
        ("top", "plot"),
        ("plot", "html"),
        ("html", "plot"),
        ("a", "b"),
        ("b", "c"),
        ("c", "a"),
        ("c", "leaf"),
    ]);
    let set = |names: &[&str]| {
        names
            .iter()
            .map(|n| n.to_string())
            .collect::<BTreeSet<String>>()
    };
    assert_eq!(
        cycles(&looped),
        vec![set(&["a", "b", "c"]), set(&["html", "plot"])]
    );
    assert_eq!(
        describe(&looped, &set(&["html", "plot"])),
        "  html -> plot\n  plot -> html"
    );
}

#[test]
fn imports_resolve_super_self_crate_and_child_paths_to_files() {
    let files: BTreeSet<String> = [
        "mod.rs",
        "data.rs",
        "figure.rs",
        "html.rs",
        "sample.rs",
        "text.rs",
        "json.rs",
        "plot/mod.rs",
        "plot/run.rs",
    ]
    .iter()
    .map(|f| f.to_string())
    .collect();
    let names = |found: BTreeSet<String>| found.into_iter().collect::<Vec<String>>();
    let run = r#"
        use super::super::data::{Class, RunDoc};
        use super::{ms, sig};
        use crate::report::{figure::{Axis, Figure}, html};
        use crate::metrics::summary::Summary;
        fn f() -> char { let _ = "super::text::ms"; '{' } // super::json::x
        /* crate::report::json */
        #[cfg(test)]
        mod tests {
            use super::*;
            use crate::report::sample;
        }
    "#;
    assert_eq!(
        names(imports_of(run, "plot/run.rs", "crate::report", &files)),
        [
            "data.rs",
            "figure.rs",
            "html.rs",
            "plot/mod.rs",
            "sample.rs"
        ]
    );
    // A folder's mod.rs naming its children; `self::` is the module itself.
    let plot = "pub mod run;\nuse self::run::usd;\nfn g() { run::figures(); super::File::new(); }";
    assert_eq!(
        names(imports_of(plot, "plot/mod.rs", "crate::report", &files)),
        ["mod.rs", "plot/run.rs"]
    );
    // A file that names other modules only imports nothing here.
    assert!(imports_of(
        "use crate::scenario::Model;",
        "text.rs",
        "crate::report",
        &files
    )
    .is_empty());
}
