//! Writing into an output directory safely: one command at a time (a lock file), and every
//! file whole, through a temporary file created new and renamed over its name.

use anyhow::{bail, Context};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The lock file a command holds in its output directory while it writes there.
pub const LOCK: &str = ".capsim-lock";

/// Present while a command replaces a report directory's files; removed when every file and
/// the list of files are written. `capsim report` refuses a directory that has it: a command
/// killed in the middle may have left it mixing two runs' files.
pub const WRITING: &str = ".capsim-writing";

/// Writes `bytes` to `dir/name` whole or not at all: into `.NAME.partial`, created new (a file
/// or symbolic link already there, left by a killed command or planted, is removed, never
/// written through), synced, then renamed over `name` (which replaces a symbolic link that
/// `name` may be, rather than following it).
pub fn write_whole(dir: &Path, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let fail = || format!("error: cannot write {}", dir.join(name).display());
    let temporary = dir.join(format!(".{name}.partial"));
    let create = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temporary)
    };
    let mut file = match create() {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(&temporary).with_context(fail)?;
            create().with_context(fail)?
        }
        other => other.with_context(fail)?,
    };
    file.write_all(bytes).with_context(fail)?;
    file.sync_all().with_context(fail)?;
    std::fs::rename(&temporary, dir.join(name)).with_context(fail)
}

/// This machine's name, so that a lock taken on another machine (a shared volume) is never
/// judged stale here.
fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// Whether process `pid` of this machine is running (`/proc`; where there is no `/proc`,
/// every process is taken to be running, so no lock is ever judged stale).
fn running(pid: u32) -> bool {
    !Path::new("/proc/self").exists() || Path::new("/proc").join(pid.to_string()).exists()
}

/// An output directory held by this command: `LOCK`, created new, holds this process's id and
/// machine; it is removed when the command ends. A lock whose process is gone (a command
/// killed, or stopped by a second Ctrl-C) is stale and taken over.
pub struct Lock {
    path: PathBuf,
    /// The directory, if this command created it: removed again if the command wrote nothing.
    created: Option<PathBuf>,
}

impl Lock {
    /// Locks `dir`, creating it if `create`.
    pub fn acquire(dir: &Path, create: bool) -> anyhow::Result<Lock> {
        let created = (create && !dir.exists()).then(|| dir.to_path_buf());
        if create {
            std::fs::create_dir_all(dir).with_context(|| {
                format!(
                    "error: cannot create the output directory {}",
                    dir.display()
                )
            })?;
        }
        let path = dir.join(LOCK);
        let me = format!("{} {}\n", std::process::id(), host());
        for attempt in 0..2 {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    file.write_all(me.as_bytes())
                        .with_context(|| format!("error: cannot write {}", path.display()))?;
                    return Ok(Lock { path, created });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path).unwrap_or_default();
                    let mut words = holder.split_whitespace();
                    let pid = words.next().and_then(|p| p.parse::<u32>().ok());
                    let machine = words.next().unwrap_or("").to_string();
                    if let Some(pid) = pid {
                        if attempt == 0 && machine == host() && !running(pid) {
                            // Stale: its command is gone.
                            let _ = std::fs::remove_file(&path);
                            continue;
                        }
                    }
                    let who = match pid {
                        Some(pid) if machine.is_empty() => format!("process {pid}"),
                        Some(pid) => format!("process {pid} on {machine}"),
                        None => "another command".to_string(),
                    };
                    bail!(
                        "error: {} is in use: another capsim ({who}) is writing there, and two \
                         commands writing into one directory would mix their files; wait for it \
                         to finish or give another directory. If no capsim is running there \
                         (one was killed on another machine), remove {}",
                        dir.display(),
                        path.display()
                    );
                }
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!("error: cannot create the lock file {}", path.display())
                    })
                }
            }
        }
        bail!("error: cannot take the lock file {}", path.display())
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        if let Some(dir) = &self.created {
            // Only if empty: a command refused before writing leaves no directory behind.
            let _ = std::fs::remove_dir(dir);
        }
    }
}
