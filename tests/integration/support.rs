//! What the tests share: a scratch directory to run the `capsim` binary in, with its exit
//! code and output; `files_under`, which lists a directory tree; and `simulate`, which runs a
//! scenario in-process.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A fresh directory per test, removed when the test ends.
pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "capsim-test-{}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            tag
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the scratch directory");
        Scratch { dir }
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, text).expect("write a scenario");
        keep_as_fuzz_seed(name, text);
        path
    }

    /// Runs capsim inside the scratch directory, so messages name files as `bad.toml`, on
    /// rayon's default thread pool.
    pub fn capsim(&self, args: &[&str]) -> Output {
        self.capsim_on_threads(None, args)
    }

    /// Runs capsim inside the scratch directory with `RAYON_NUM_THREADS=threads`, or with the
    /// variable removed for `None`.
    pub fn capsim_on_threads(&self, threads: Option<usize>, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_capsim"));
        command.args(args).current_dir(&self.dir);
        match threads {
            Some(n) => command.env("RAYON_NUM_THREADS", n.to_string()),
            None => command.env_remove("RAYON_NUM_THREADS"),
        };
        let out = command.output().expect("start capsim");
        Output {
            code: out.status.code(),
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        }
    }

    /// Runs capsim inside the scratch directory and waits at most `limit`; `None` if it was
    /// still running (and is killed).
    pub fn capsim_within(&self, args: &[&str], limit: Duration) -> Option<Output> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_capsim"))
            .args(args)
            .current_dir(&self.dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start capsim");
        let reader = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = pipe.read_to_string(&mut text);
                text
            })
        };
        let stdout = reader(Box::new(child.stdout.take().unwrap()));
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let stderr_pipe = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let mut pipe = stderr_pipe;
            let _ = pipe.read_to_string(&mut text);
            let _ = done_tx.send(());
            text
        });
        // stderr reaches end-of-file when the process exits.
        if done_rx.recv_timeout(limit).is_err() {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        let status = child.wait().expect("wait for capsim");
        Some(Output {
            code: status.code(),
            stdout: stdout.join().unwrap(),
            stderr: stderr.join().unwrap(),
        })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How a run of capsim ended.
#[derive(Debug)]
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Exit code 2, nothing on stdout, a message on stderr; returns stderr.
    pub fn bad_input(&self) -> &str {
        assert_eq!(self.code, Some(2), "bad input must exit with 2: {self:#?}");
        assert!(
            self.stdout.is_empty(),
            "bad input must print nothing on stdout: {self:#?}"
        );
        assert!(
            !self.stderr.trim().is_empty(),
            "bad input must explain itself on stderr: {self:#?}"
        );
        assert!(
            !self.stderr.contains("panicked"),
            "capsim panicked: {self:#?}"
        );
        &self.stderr
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }
}

/// Loads and runs a scenario in-process; a scenario that does not load, or overloads, fails
/// the test with the reason.
pub fn simulate(toml: &str) -> capsim::metrics::summary::Summary {
    use capsim::metrics::summary::Outcome;
    keep_as_fuzz_seed("test.toml", toml);
    let model = capsim::scenario::load(toml, "test.toml", &[]).unwrap_or_else(|e| panic!("{e}"));
    match capsim::sweep::run(&model) {
        Outcome::Completed(summary) => *summary,
        Outcome::Overloaded(o) => panic!("unexpected overload: {o:?}"),
    }
}

/// Every file under `dir`, relative to it.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(
                    path.strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    found.sort();
    found
}

/// With `CAPSIM_FUZZ_SEEDS=DIR` (set by `fuzz/seeds/make-scenario.sh`), every scenario a test
/// writes is also kept in DIR, named by its content: the good and bad scenarios of the suite
/// become seeds for the `scenario` fuzz target.
fn keep_as_fuzz_seed(name: &str, text: &str) {
    use std::hash::{Hash, Hasher};
    let Some(dir) = std::env::var_os("CAPSIM_FUZZ_SEEDS") else {
        return;
    };
    if !name.ends_with(".toml") {
        return;
    }
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut hasher);
    let _ = std::fs::write(
        Path::new(&dir).join(format!("{:016x}.toml", hasher.finish())),
        text,
    );
}
