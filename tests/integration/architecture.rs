//! The code map's invariants that a grep can check: the top-level modules import each other
//! in one direction only (no cycle), and the engine stays free of model knowledge.

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
