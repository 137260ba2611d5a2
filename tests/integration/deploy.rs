//! `deploy/`: what can be checked without a container engine or a cluster. The Dockerfile's
//! build stage against Cargo.toml (every declared target copied in, the binary built and
//! copied out by its real path, a user without privileges); the Kubernetes Indexed Job's and
//! the Slurm array's own commands, run here with the environment their schedulers would set,
//! merged, and compared with the unsharded sweep byte for byte.

use crate::support::Scratch;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// A two-tier scenario with a 12-point grid.
const GRID: &str = r#"[scenario]
name = "deploy"
duration = "10s"
seed = 4
replications = 2
[slo]
p99 = "15ms"
[traffic]
rate = 300
entry = "web"
[[service]]
name = "web"
concurrency = 2
service_time = { dist = "exponential", mean = "2ms" }
calls = ["db"]
price_per_hour = 0.1
[[service]]
name = "db"
concurrency = 2
service_time = { dist = "exponential", mean = "1ms" }
[sweep]
"service.web.replicas" = [1, 2, 3]
"traffic.rate" = [200, 300, 400, 500]
"#;

#[test]
fn the_dockerfile_builds_the_targets_cargo_declares_and_runs_unprivileged() {
    let manifest: toml::Table = read(root().join("Cargo.toml")).parse().unwrap();
    let docker = read(root().join("deploy/Dockerfile"));
    let lines: Vec<&str> = docker
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    let stages: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("FROM "))
        .collect();
    assert_eq!(stages.len(), 2, "a build stage and a runtime stage");
    let (build, runtime) = (&lines[stages[0]..stages[1]], &lines[stages[1]..]);

    // The toolchain is at least the crate's rust-version.
    let from = build[0];
    assert!(from.ends_with(" AS build"), "{from}");
    let tag = from.split(':').nth(1).unwrap().split('-').next().unwrap();
    let version = |v: &str| -> Vec<u32> { v.split('.').map(|n| n.parse().unwrap()).collect() };
    let wanted = manifest["package"]["rust-version"].as_str().unwrap();
    assert!(
        version(tag) >= version(wanted),
        "rust {tag} < rust-version {wanted}"
    );

    // Every path Cargo.toml declares (the manifest, the lock file, every target) is copied
    // into the build stage, or cargo cannot read the manifest.
    let copied: Vec<&str> = build
        .iter()
        .filter_map(|l| l.strip_prefix("COPY "))
        .flat_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            words[..words.len() - 1].to_vec()
        })
        .collect();
    let mut declared = vec![
        "Cargo.toml".to_string(),
        "Cargo.lock".to_string(),
        manifest["lib"]["path"].as_str().unwrap().to_string(),
    ];
    for kind in ["bin", "test"] {
        for target in manifest[kind].as_array().unwrap() {
            declared.push(target["path"].as_str().unwrap().to_string());
        }
    }
    for bench in manifest["bench"].as_array().unwrap() {
        declared.push(format!("benches/{}.rs", bench["name"].as_str().unwrap()));
    }
    for path in &declared {
        assert!(
            copied
                .iter()
                .any(|c| path == c || path.starts_with(&format!("{c}/"))),
            "{path} (declared in Cargo.toml) is not copied into the build stage: {copied:?}"
        );
        assert!(
            root().join(path).exists(),
            "{path} exists in the repository"
        );
    }

    // The build command builds the binary Cargo.toml names, and the runtime stage copies it
    // from where cargo puts it.
    let bin = manifest["bin"].as_array().unwrap()[0]["name"]
        .as_str()
        .unwrap();
    let workdir = build
        .iter()
        .find_map(|l| l.strip_prefix("WORKDIR "))
        .unwrap();
    let run = build
        .iter()
        .find(|l| l.starts_with("RUN cargo build"))
        .unwrap();
    for flag in ["--release", "--locked", &format!("--bin {bin}")] {
        assert!(run.contains(flag), "{run} lacks {flag}");
    }
    let copy = runtime
        .iter()
        .find(|l| l.starts_with("COPY --from=build "))
        .unwrap();
    let words: Vec<&str> = copy.split_whitespace().collect();
    assert_eq!(words[2], format!("{workdir}/target/release/{bin}"));
    let installed = words[3];

    // A slim runtime, a user that is not root, and the binary as the entry point.
    assert!(runtime[0].contains("-slim"), "{}", runtime[0]);
    let user = runtime
        .iter()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    assert!(!["root", "0", "0:0"].contains(&user), "USER {user}");
    let uid = user.split(':').next().unwrap();
    assert!(
        runtime
            .iter()
            .any(|l| l.contains("useradd") && l.contains(uid)),
        "the user {uid} is created"
    );
    let entry = runtime
        .iter()
        .find_map(|l| l.strip_prefix("ENTRYPOINT "))
        .unwrap();
    assert_eq!(entry, format!("[\"{installed}\"]"));
}

/// Runs the unsharded sweep of `GRID` into `whole`, for comparisons.
fn whole(s: &Scratch) {
    let out = s.capsim(&["sweep", "grid.toml", "--out", "whole"]);
    assert!(matches!(out.code, Some(0 | 1)), "{out:#?}");
}

fn assert_same_results(s: &Scratch, merged: &str) {
    for file in ["results.csv", "results.jsonl", "manifest.json"] {
        assert_eq!(
            read(s.dir.join("whole").join(file)),
            read(s.dir.join(merged).join(file)),
            "{file}: the merged shards differ from the whole sweep"
        );
    }
}

/// The flow-style list after `key: ` on the first line after `after` that has it, as JSON.
fn yaml_list(yaml: &str, after: &str, key: &str) -> Vec<String> {
    let start = yaml
        .find(after)
        .unwrap_or_else(|| panic!("{after} in the Job"));
    let line = yaml[start..]
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("{key} after {after}"));
    serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("{key} is a JSON-style list ({e}): {line}"))
}

/// The integer after `key: ` in the YAML (the first occurrence).
fn yaml_number(yaml: &str, key: &str) -> u32 {
    yaml.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{key}: ")))
        .and_then(|v| v.split('#').next())
        .map(|v| v.trim().trim_matches('"').parse().unwrap())
        .unwrap_or_else(|| panic!("{key} in the Job"))
}

#[test]
fn the_indexed_job_runs_each_slice_and_its_merge_equals_the_whole_sweep() {
    let yaml = read(root().join("deploy/k8s/sweep-job.yaml"));
    assert!(yaml.contains("completionMode: Indexed"));
    let completions = yaml_number(&yaml, "completions");
    let shards_env = yaml[yaml.find("name: CAPSIM_SHARDS").unwrap()..]
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .strip_prefix("value: ")
        .unwrap()
        .trim_matches('"')
        .parse::<u32>()
        .unwrap();
    assert_eq!(completions, shards_env, "CAPSIM_SHARDS equals completions");
    assert_eq!(
        yaml_number(&yaml, "runAsUser"),
        10001,
        "the Dockerfile's user"
    );

    let s = Scratch::new("k8s");
    s.write("grid.toml", GRID);
    whole(&s);
    // The shard pods: the container's args, with the mounts mapped into the scratch
    // directory and the variables the Job controller and the downward API set.
    let args = yaml_list(&yaml, "name: shard", "args");
    for index in 0..completions {
        let args: Vec<String> = args
            .iter()
            .map(|a| {
                a.replace("/scenarios/sweep.toml", "grid.toml")
                    .replace("/results/", "results/")
                    .replace("$(SHARD_INDEX)", &index.to_string())
            })
            .collect();
        let out = Command::new(env!("CARGO_BIN_EXE_capsim"))
            .args(&args)
            .current_dir(&s.dir)
            .env("JOB_COMPLETION_INDEX", index.to_string())
            .env("CAPSIM_SHARDS", shards_env.to_string())
            .env_remove("SLURM_ARRAY_TASK_ID")
            .output()
            .unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "shard {index}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The merge pod: the capsim command inside its shell loop.
    let script = &yaml_list(&yaml, "name: merge", "args")[0];
    let command = script
        .strip_prefix("until ")
        .and_then(|c| c.split(';').next())
        .unwrap();
    let words: Vec<String> = command
        .split_whitespace()
        .skip(1)
        .map(|w| w.replace("/results/", "results/"))
        .collect();
    assert!(
        command.starts_with("/usr/local/bin/capsim merge"),
        "{command}"
    );
    let out = s.capsim(&words.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(matches!(out.code, Some(0 | 1)), "{out:#?}");
    assert_same_results(&s, "results/merged");
}

#[test]
fn the_slurm_array_runs_each_slice_and_its_merge_equals_the_whole_sweep() {
    let script = root().join("deploy/slurm/sweep.sbatch");
    let text = read(&script);
    let array = text
        .lines()
        .find_map(|l| l.strip_prefix("#SBATCH --array="))
        .expect("an #SBATCH --array line");
    let (low, high) = array.split_once('-').unwrap();
    let (low, high): (u32, u32) = (low.parse().unwrap(), high.parse().unwrap());

    let s = Scratch::new("slurm");
    s.write("grid.toml", GRID);
    whole(&s);
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_capsim")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for task in low..=high {
        // What Slurm sets for an array task.
        let out = Command::new("bash")
            .arg(&script)
            .current_dir(&s.dir)
            .env("PATH", &path)
            .env("SCENARIO", "grid.toml")
            .env("RESULTS", s.dir.join("results"))
            .env("SLURM_ARRAY_TASK_ID", task.to_string())
            .env("SLURM_ARRAY_TASK_MIN", low.to_string())
            .env("SLURM_ARRAY_TASK_COUNT", (high - low + 1).to_string())
            .env("SLURM_CPUS_PER_TASK", "1")
            .env_remove("JOB_COMPLETION_INDEX")
            .output()
            .unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "task {task}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The dependent merge job of the script's comment.
    let shards: Vec<String> = (low..=high).map(|t| format!("results/shard-{t}")).collect();
    let mut args = vec!["merge"];
    args.extend(shards.iter().map(String::as_str));
    args.extend(["--out", "results/merged"]);
    let out = s.capsim(&args);
    assert!(matches!(out.code, Some(0 | 1)), "{out:#?}");
    assert_same_results(&s, "results/merged");
    assert!(
        text.contains("--dependency=afterok:$jobid --wrap \"capsim merge $PWD/results/shard-* --out $PWD/results/merged\""),
        "the comment's merge command is the one tested"
    );
}
