//! The repository stands alone: a clone has everything its files refer to, and every
//! scenario it ships loads.
//!
//! The rule for paths, applied to every tracked text file:
//!
//! 1. The team directory that once sat beside the repository is named nowhere: no file
//!    contains `..` followed by `/shared`, not even in a string.
//! 2. A relative path that starts with `../` must name a tracked file or directory when it is
//!    resolved from the directory of the file that contains it, as a reader (or a script, or
//!    Cargo) following it would resolve it. So it can neither climb out of the repository nor
//!    point at something a clone does not have.
//!
//! Rule 2 skips the contents of string literals in Rust code, because those are data, not
//! references: a test may well feed capsim a path that climbs out to `/etc` to check that
//! such a path is refused. Rust comments, and every line of every other kind of file (Markdown, TOML, shell,
//! Python), are checked. A path that Rust code itself follows (`include_str!`, `#[path]`)
//! needs no check here: outside the repository it breaks the build of a clean clone.
//! Paths written after a variable (`$here/../..`) are relative to that variable, not to the
//! file, and are not checked either.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Tracked files (`git ls-files`), relative to the root with `/` separators; without git (a
/// source archive), every file under the root except `target/` and hidden directories.
fn tracked_files() -> Vec<String> {
    let listed = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root())
        .output()
        .ok()
        .filter(|out| out.status.success() && !out.stdout.is_empty());
    if let Some(out) = listed {
        return String::from_utf8(out.stdout)
            .expect("git prints UTF-8 paths")
            .split('\0')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect();
    }
    let mut files = Vec::new();
    let mut pending = vec![root()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read a source directory") {
            let path = entry.expect("a directory entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with('.') && name != ".ci" && name != ".gitignore" {
                continue;
            }
            if path.is_dir() {
                if path != root().join("target") {
                    pending.push(path);
                }
            } else {
                let relative = path.strip_prefix(root()).unwrap();
                files.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    files
}

/// The text with the contents of Rust string and character literals blanked out (newlines
/// kept, so line numbers stay right). Comments and code are kept.
fn without_rust_literals(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            // A line comment: kept to the end of the line.
            while i < chars.len() && chars[i] != '\n' {
                out.push(chars[i]);
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            // A block comment (they nest in Rust): kept.
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("/*");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("*/");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(chars[i]);
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !ident_before(&chars, i) {
            // A raw string r"..." or r#"..."#: no escapes, ends at a quote and as many #.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            out.extend(std::iter::repeat_n(' ', j + 1 - i));
            i = j + 1;
            while i < chars.len() {
                if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
                    out.extend(std::iter::repeat_n(' ', hashes + 1));
                    i += hashes + 1;
                    break;
                }
                out.push(blank(chars[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && is_char_literal(&chars, i) {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                out.push(' ');
                i += 1;
            }
            out.push(' ');
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// `'x'` or `'\n'` rather than a lifetime such as `'a`.
fn is_char_literal(chars: &[char], i: usize) -> bool {
    match chars.get(i + 1) {
        Some('\\') => true,
        Some(_) => chars.get(i + 2) == Some(&'\''),
        None => false,
    }
}

/// Every `../...` path in `text` with its line number. A path starts at `../` that follows
/// the start of the text or a character that cannot be part of a path, and runs until
/// whitespace, a quote or a closing bracket; a final `.` (the end of a sentence) is dropped.
fn relative_paths(text: &str) -> Vec<(usize, String)> {
    let is_path_char = |c: char| c.is_alphanumeric() || "_-./*~+@%".contains(c);
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i + 3 <= chars.len() {
            let starts = chars[i..i + 3] == ['.', '.', '/'];
            let after_boundary = i == 0 || !(is_path_char(chars[i - 1]) || chars[i - 1] == '$');
            if starts && after_boundary {
                let end = (i..chars.len())
                    .find(|&j| !is_path_char(chars[j]))
                    .unwrap_or(chars.len());
                let path: String = chars[i..end].iter().collect();
                found.push((number + 1, path.trim_end_matches('.').to_string()));
                i = end;
            } else {
                i += 1;
            }
        }
    }
    found
}

/// Where `path`, written in the file `file`, points: `Some(repository-relative path)`, or
/// `None` if it climbs above the repository's root.
fn resolve(file: &str, path: &str) -> Option<String> {
    let mut parts: Vec<&str> = file.split('/').collect();
    parts.pop(); // the file's own name
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

/// The problems of one file's text, as `file:line: message`.
fn path_problems(file: &str, text: &str, tracked: &BTreeSet<String>) -> Vec<String> {
    let mut problems = Vec::new();
    let team_directory = ["..", "/shared"].concat();
    for (number, line) in text.lines().enumerate() {
        if line.contains(&team_directory) {
            problems.push(format!(
                "{file}:{}: refers to {team_directory}, outside the repository: {}",
                number + 1,
                line.trim()
            ));
        }
    }
    let checked = if file.ends_with(".rs") {
        without_rust_literals(text)
    } else {
        text.to_string()
    };
    // A path into the team directory has been reported above, once is enough.
    let paths = relative_paths(&checked);
    for (number, path) in paths
        .into_iter()
        .filter(|(_, p)| !p.contains(&team_directory))
    {
        let exists = |p: &str| {
            p.is_empty()
                || tracked.contains(p)
                || tracked.iter().any(|t| t.starts_with(&format!("{p}/")))
        };
        match resolve(file, &path) {
            None => problems.push(format!(
                "{file}:{number}: `{path}` climbs out of the repository"
            )),
            Some(target) if !path.contains('*') && !exists(&target) => problems.push(format!(
                "{file}:{number}: `{path}` points at {target}, which the repository does not have"
            )),
            Some(_) => {}
        }
    }
    problems
}

#[test]
fn no_tracked_file_refers_to_a_path_outside_the_repository() {
    let files = tracked_files();
    assert!(
        files.iter().any(|f| f == "Cargo.toml"),
        "the file list should include Cargo.toml: {files:?}"
    );
    let tracked: BTreeSet<String> = files.iter().cloned().collect();
    let mut problems = Vec::new();
    for file in &files {
        // Binary files (not UTF-8) hold no paths a reader follows.
        let Ok(text) = std::fs::read_to_string(root().join(file)) else {
            continue;
        };
        problems.extend(path_problems(file, &text, &tracked));
    }
    assert!(
        problems.is_empty(),
        "tracked files refer outside the repository (see tests/integration/repository.rs for \
         the rule):\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_path_rule_catches_escapes_and_dangling_paths_but_not_rust_test_data() {
    let tracked: BTreeSet<String> = ["README.md", "docs/scenarios.md", "src/cli/mod.rs"]
        .into_iter()
        .map(String::from)
        .collect();
    let team = format!("let spec = \"{}\";", ["..", "/shared/SPEC.md"].concat());
    // (file, text, how many problems the rule must find)
    let cases = [
        // A link between the repository's own documents is fine.
        ("docs/contract.md", "see [scenarios](../README.md)", 0),
        ("docs/contract.md", "in `../docs/scenarios.md`.", 0),
        // A directory that holds tracked files counts as present.
        ("docs/contract.md", "under ../src/cli/", 0),
        // Out of the repository, in prose or in a script.
        ("README.md", "the contract is `../x/SPEC.md`", 1),
        (".ci/run", "cd ../../elsewhere && make", 1),
        // Inside the repository, but naming a file a clone does not have.
        ("docs/scenarios.md", "see ../notes/SPEC.md", 1),
        // The team directory, anywhere, even inside a Rust string.
        ("src/cli/mod.rs", team.as_str(), 1),
        // Rust string literals are data: a path-sanitising test is not a reference.
        (
            "tests/integration/cli.rs",
            r#"let bad = "../../../etc/x";"#,
            0,
        ),
        ("src/cli/mod.rs", r##"check(r#"../../../../etc/x"#);"##, 0),
        // ... but a Rust comment is prose, and is checked.
        (
            "src/cli/mod.rs",
            "// values from ../../../peers/analytic.py",
            1,
        ),
        // A path after a variable is relative to the variable, not to the file.
        (
            "benches/peers/run.sh",
            r#"root=$(cd "$here/../.." && pwd)"#,
            0,
        ),
        // `...` and `..` alone are not paths.
        ("README.md", "and so on... then cd .. twice", 0),
    ];
    for (file, text, expected) in cases {
        let problems = path_problems(file, text, &tracked);
        assert_eq!(
            problems.len(),
            expected,
            "{file}: {text:?} should have {expected} problem(s), got {problems:#?}"
        );
    }
}

#[test]
fn every_shipped_scenario_loads() {
    let scenarios: Vec<String> = tracked_files()
        .into_iter()
        .filter(|f| f.ends_with(".toml") && !f.ends_with("Cargo.toml"))
        .collect();
    assert!(
        scenarios
            .iter()
            .any(|s| s.starts_with("scenarios/teaching/")),
        "the teaching scenarios should be among {scenarios:?}"
    );
    for file in &scenarios {
        let text = std::fs::read_to_string(root().join(file)).expect("read a scenario");
        if let Err(e) = capsim::scenario::load(&text, file, &[]) {
            panic!("{file} does not load: {e}");
        }
    }
}

#[test]
fn the_readme_lists_every_teaching_scenario() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("read README.md");
    for file in tracked_files() {
        let Some(name) = file.strip_prefix("scenarios/teaching/") else {
            continue;
        };
        assert!(
            readme.contains(&format!("| `{name}` |")),
            "README.md's teaching table has no row for {name}"
        );
    }
}

/// The README's front door stays true: the output it shows for its first command is what
/// that command prints today, byte for byte.
#[test]
fn the_readme_shows_what_its_first_command_prints() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("read README.md");
    let command = "cargo run --release -- run scenarios/teaching/two-tier.toml";
    assert!(
        readme.contains(command),
        "README.md no longer shows `{command}`"
    );
    let after = readme
        .split("The first command prints:")
        .nth(1)
        .expect("README.md says what the first command prints");
    let shown = after
        .split("```text\n")
        .nth(1)
        .and_then(|block| block.split("```").next())
        .expect("a ```text block after it");
    let out = Command::new(env!("CARGO_BIN_EXE_capsim"))
        .args(["run", "scenarios/teaching/two-tier.toml"])
        .current_dir(root())
        .output()
        .expect("start capsim");
    let printed = String::from_utf8(out.stdout).expect("UTF-8");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(shown, printed, "README.md's sample output is stale");
}

#[test]
fn resolve_follows_dot_dot_from_the_files_directory() {
    assert_eq!(
        resolve("docs/contract.md", "../README.md").as_deref(),
        Some("README.md")
    );
    assert_eq!(resolve("README.md", "../outside"), None);
    assert_eq!(resolve("a/b/c.rs", "../../x/./y").as_deref(), Some("x/y"));
}
