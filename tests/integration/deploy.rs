//! `deploy/`: the Slurm array submitted to a real single-node Slurm that the test starts on
//! this machine (Debian's slurm-wlm and munge, as root), its merge compared with the unsharded
//! sweep byte for byte. What needs a container engine or a cluster is checked without: the
//! Dockerfile's build stage against Cargo.toml (every declared target copied in, the binary
//! built and copied out by its real path, a user without privileges); the Kubernetes Indexed
//! Job's and the Slurm array's own commands, run here with the environment their schedulers
//! would set, merged, and compared with the unsharded sweep.

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

/// An 8-point grid, one point per task of the Slurm array, where one point (one replica at
/// 950/s: M/M/1 at utilization 0.95, p99 sojourn ln(100)/(1000 - 950) s = 92 ms) misses the
/// 15 ms p99 and every other passes with a wide margin (at most utilization 0.475: p99 about
/// ln(100)/525 s = 8.8 ms). The slice of that point alone exits 1: a task must still succeed.
const SLURM_GRID: &str = r#"[scenario]
name = "deploy-slurm"
duration = "10s"
seed = 4
replications = 2
[slo]
p99 = "15ms"
[traffic]
rate = 100
entry = "web"
[[service]]
name = "web"
concurrency = 1
service_time = { dist = "exponential", mean = "1ms" }
[sweep]
"service.web.replicas" = [1, 2, 3, 4]
"traffic.rate" = [100, 950]
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
    // The shard pods: the container's shell command, with the mounts mapped into the scratch
    // directory and the variables the Job controller and the downward API set. Every pod
    // must succeed (exit 0), or the Job retries its index: a slice whose points all miss an
    // SLO (capsim's exit code 1) is finished too.
    let script = yaml_list(&yaml, "name: shard", "args")[0]
        .replace("/usr/local/bin/capsim", env!("CARGO_BIN_EXE_capsim"))
        .replace("/scenarios/sweep.toml", "grid.toml")
        .replace("/results/", "results/");
    for index in 0..completions {
        let out = Command::new("sh")
            .args(["-c", &script])
            .current_dir(&s.dir)
            .env("JOB_COMPLETION_INDEX", index.to_string())
            .env("SHARD_INDEX", index.to_string())
            .env("CAPSIM_SHARDS", shards_env.to_string())
            .env_remove("SLURM_ARRAY_TASK_ID")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
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
    s.write("grid.toml", SLURM_GRID);
    whole(&s);
    let alone = s.capsim(&["sweep", "grid.toml", "--shard", "1/8", "--format", "json"]);
    assert_eq!(
        alone.code,
        Some(1),
        "the slice of the missing point: {alone:#?}"
    );
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
        // Exit 0 for every task, or `afterok` never starts the merge.
        assert_eq!(
            out.status.code(),
            Some(0),
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

/// A program of the Slurm or MUNGE packages: on the PATH, or in /usr/sbin (where Debian puts
/// the daemons, not always on a user's PATH).
fn slurm_program(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path).chain(["/usr/sbin".into(), "/usr/local/sbin".into()]);
    for dir in dirs {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "the Slurm test runs deploy/slurm/sweep.sbatch on a real single-node Slurm, and {name} \
         was not found on the PATH or in /usr/sbin: install Slurm and MUNGE with \
         `apt-get install slurm-wlm munge` (Debian; .ci/run does this). The test starts its own \
         munged, slurmctld and slurmd in a temporary directory, as root"
    );
}

/// A free TCP port on the loopback interface (the kernel's choice, released at once).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The daemons of a single-node cluster, stopped (SIGTERM, then SIGKILL) when dropped, after
/// cancelling the jobs still there (a test that fails mid-array leaves no job running).
struct Daemons {
    children: Vec<(String, std::process::Child)>,
    /// scancel for every job of the user, and squeue to see them gone, in this cluster.
    cancel: Option<(Command, Command)>,
}

impl Daemons {
    fn start(&mut self, name: &str, command: &mut Command, log: &Path) {
        let file = std::fs::File::create(log).unwrap();
        let child = command
            .stdin(std::process::Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        self.children.push((name.to_string(), child));
    }

    /// Fails the test if a daemon has exited.
    fn check(&mut self, logs: &dyn Fn() -> String) {
        for (name, child) in &mut self.children {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("{name} exited ({status}); the logs:\n{}", logs());
            }
        }
    }
}

impl Drop for Daemons {
    fn drop(&mut self) {
        if let Some((scancel, squeue)) = &mut self.cancel {
            let _ = scancel.status();
            let started = std::time::Instant::now();
            while started.elapsed() < std::time::Duration::from_secs(20)
                && squeue.output().is_ok_and(|o| !o.stdout.is_empty())
            {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
        // The last started first: slurmd, slurmctld, munged.
        for (_, child) in self.children.iter_mut().rev() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let started = std::time::Instant::now();
            while child.try_wait().ok().flatten().is_none() {
                if started.elapsed() > std::time::Duration::from_secs(10) {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
    }
}

/// The last `lines` lines of each file, headed by its name.
fn tails(files: &[PathBuf], lines: usize) -> String {
    let mut text = String::new();
    for file in files {
        let body = std::fs::read_to_string(file).unwrap_or_else(|e| format!("({e})"));
        let all: Vec<&str> = body.lines().collect();
        let from = all.len().saturating_sub(lines);
        text += &format!("== {}\n{}\n", file.display(), all[from..].join("\n"));
    }
    text
}

#[test]
fn the_slurm_array_runs_on_a_real_slurm_and_its_merge_equals_the_whole_sweep() {
    // A single-node cluster of this machine in a scratch directory: a MUNGE key and daemon of
    // its own, a generated slurm.conf on free ports, slurmctld and slurmd in the foreground.
    let [mungekey, munged, slurmctld, slurmd, sbatch, squeue, sinfo, scancel] = [
        "mungekey",
        "munged",
        "slurmctld",
        "slurmd",
        "sbatch",
        "squeue",
        "sinfo",
        "scancel",
    ]
    .map(slurm_program);
    let s = Scratch::new("slurm-real");
    let dir = s.dir.canonicalize().unwrap();
    let munge = dir.join("munge");
    for sub in ["munge", "state", "spool"] {
        std::fs::create_dir(dir.join(sub)).unwrap();
    }
    {
        use std::os::unix::fs::PermissionsExt;
        // munged refuses a key directory others may write to, and needs the socket's directory
        // searchable by every user.
        std::fs::set_permissions(&munge, std::fs::Permissions::from_mode(0o711)).unwrap();
    }
    let key = munge.join("munge.key");
    let made = Command::new(&mungekey)
        .arg("--create")
        .arg("--keyfile")
        .arg(&key)
        .output()
        .unwrap();
    assert!(made.status.success(), "mungekey: {made:?}");
    let socket = munge.join("socket");
    let host = read("/proc/sys/kernel/hostname");
    let host = host.trim().split('.').next().unwrap().to_string();
    assert_eq!(
        uid(),
        0,
        "the Slurm test starts slurmd, which runs jobs as their user and so needs root: run \
         `cargo test --release` as root (CI does)"
    );
    let user = "root".to_string();
    let conf = dir.join("slurm.conf");
    let d = dir.display();
    std::fs::write(
        &conf,
        format!(
            "ClusterName=capsimtest\n\
             SlurmctldHost={host}(127.0.0.1)\n\
             SlurmctldPort={ctld_port}\n\
             SlurmdPort={d_port}\n\
             SlurmUser={user}\n\
             SlurmdUser={user}\n\
             AuthType=auth/munge\n\
             AuthInfo=socket={socket}\n\
             CredType=cred/munge\n\
             StateSaveLocation={d}/state\n\
             SlurmdSpoolDir={d}/spool\n\
             SlurmctldPidFile={d}/slurmctld.pid\n\
             SlurmdPidFile={d}/slurmd.pid\n\
             SlurmctldLogFile={d}/slurmctld.log\n\
             SlurmdLogFile={d}/slurmd.log\n\
             ProctrackType=proctrack/linuxproc\n\
             TaskPlugin=task/none\n\
             JobAcctGatherType=jobacct_gather/none\n\
             AccountingStorageType=accounting_storage/none\n\
             JobCompType=jobcomp/none\n\
             MpiDefault=none\n\
             SwitchType=switch/none\n\
             SchedulerType=sched/builtin\n\
             SelectType=select/cons_tres\n\
             SelectTypeParameters=CR_CPU\n\
             ReturnToService=2\n\
             NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=1024 State=UNKNOWN\n\
             PartitionName=capsim Nodes={host} Default=YES MaxTime=INFINITE State=UP\n",
            ctld_port = free_port(),
            d_port = free_port(),
            // No more than the machine has, or slurmd drains the node.
            cpus = std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
            socket = socket.display(),
        ),
    )
    .unwrap();
    let logs = || {
        let mut files: Vec<PathBuf> = ["slurmctld.log", "slurmd.log"]
            .iter()
            .map(|f| dir.join(f))
            .collect();
        let mut tasks: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "log" || x == "out"))
            .filter(|p| !files.contains(p))
            .collect();
        tasks.sort();
        files.extend(tasks);
        tails(&files, 40)
    };
    let slurm = |program: &Path| {
        let mut c = Command::new(program);
        c.current_dir(&dir).env("SLURM_CONF", &conf);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("SLURM_") {
                c.env_remove(name);
            }
        }
        c.env("SLURM_CONF", &conf);
        c
    };
    let mut daemons = Daemons {
        children: vec![],
        cancel: None,
    };
    daemons.start(
        "munged",
        Command::new(&munged)
            .arg("--foreground")
            .arg("--force")
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--key-file={}", key.display()))
            .arg(format!("--pid-file={}", munge.join("munged.pid").display()))
            .arg(format!("--seed-file={}", munge.join("seed").display())),
        &dir.join("munged.out"),
    );
    let bounded =
        |what: &str, limit_s: u64, daemons: &mut Daemons, done: &mut dyn FnMut() -> bool| {
            let started = std::time::Instant::now();
            while !done() {
                daemons.check(&logs);
                if started.elapsed() > std::time::Duration::from_secs(limit_s) {
                    panic!("{what} within {limit_s} s failed; the logs:\n{}", logs());
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        };
    bounded("munged's socket", 30, &mut daemons, &mut || socket.exists());
    daemons.start(
        "slurmctld",
        slurm(&slurmctld).args(["-D", "-i", "-f"]).arg(&conf),
        &dir.join("slurmctld.out"),
    );
    daemons.start(
        "slurmd",
        slurm(&slurmd).args(["-D", "-f"]).arg(&conf),
        &dir.join("slurmd.out"),
    );
    let mut cancel = slurm(&scancel);
    cancel.args(["--quiet", "--user", &user]);
    let mut queued = slurm(&squeue);
    queued.args(["-h", "--user", &user]);
    daemons.cancel = Some((cancel, queued));
    bounded("the node coming up idle", 60, &mut daemons, &mut || {
        let out = slurm(&sinfo).args(["-h", "-o", "%T"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim() == "idle"
    });

    // The script's header commands, as a user types them (the scenario and the script's path
    // put in), in bash with capsim on the PATH: the array, then the merge that depends on it.
    // Each task asks one CPU (the script asks four, more than the test's node may have).
    let script = root().join("deploy/slurm/sweep.sbatch");
    let text = read(&script);
    let header: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("#     "))
        .map(|l| {
            l.replace("SCENARIO=my-sweep.toml", "SCENARIO=grid.toml")
                .replace("deploy/slurm/sweep.sbatch", &script.display().to_string())
                .replace("sbatch --parsable", "sbatch --parsable --cpus-per-task=1")
                .replace("sbatch --dependency", "sbatch --parsable --dependency")
        })
        .collect();
    assert_eq!(header.len(), 2, "the header's two commands: {header:?}");
    assert!(header[0].starts_with("jobid=$(sbatch"), "{}", header[0]);
    s.write("grid.toml", SLURM_GRID);
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_capsim")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let sbatch_dir = sbatch.parent().unwrap().display().to_string();
    let submitted = slurm(Path::new("bash"))
        .arg("-c")
        .arg(format!(
            "set -e\n{}\necho \"$jobid\"\n{}\n",
            header[0], header[1]
        ))
        .env("PATH", format!("{sbatch_dir}:{path}"))
        .output()
        .unwrap();
    let ids = String::from_utf8_lossy(&submitted.stdout).to_string();
    assert!(
        submitted.status.success(),
        "submitting: {}\n{}",
        String::from_utf8_lossy(&submitted.stderr),
        logs()
    );
    let ids: Vec<&str> = ids.split_whitespace().collect();
    assert_eq!(ids.len(), 2, "the array's and the merge's job ids: {ids:?}");

    // Wait for every array task and the merge to finish, at most 5 minutes.
    let mut last = String::new();
    bounded(
        "every array task and the merge finishing",
        300,
        &mut daemons,
        &mut || {
            let out = slurm(&squeue)
                .args(["-h", "-t", "all", "-o", "%i %T %r", "-j"])
                .arg(ids.join(","))
                .output()
                .unwrap();
            last = String::from_utf8_lossy(&out.stdout).to_string();
            let states: Vec<(&str, &str, &str)> = last
                .lines()
                .filter_map(|l| {
                    let mut w = l.split_whitespace();
                    Some((w.next()?, w.next()?, w.next().unwrap_or("")))
                })
                .collect();
            let bad = states.iter().find(|(_, state, reason)| {
                ![
                    "PENDING",
                    "CONFIGURING",
                    "RUNNING",
                    "COMPLETING",
                    "COMPLETED",
                ]
                .contains(state)
                    || reason.starts_with("DependencyNeverSatisfied")
            });
            if let Some((id, state, reason)) = bad {
                panic!(
                    "job {id} is {state} ({reason}); squeue:\n{last}\nthe logs:\n{}",
                    logs()
                );
            }
            !states.is_empty() && states.iter().all(|(_, state, _)| *state == "COMPLETED")
        },
    );
    let tasks = last
        .lines()
        .filter(|l| l.starts_with(&format!("{}_", ids[0])));
    assert_eq!(tasks.count(), 8, "the array's 8 tasks: {last}");

    whole(&s);
    assert_same_results(&s, "results/merged");
}

/// This process's user id, from /proc (no `libc` needed).
fn uid() -> u32 {
    read("/proc/self/status")
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|u| u.parse().ok())
        .expect("Uid: in /proc/self/status")
}
