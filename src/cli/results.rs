//! A sweep's output directory: `manifest.json` (which scenario, grid and shard the results
//! belong to), `results.jsonl` (the journal: one whole line per finished point, appended and
//! synced as each point finishes, in finishing order) and `results.csv`. When a sweep ends,
//! or is stopped, both result files are rewritten in grid order (to a temporary name, then
//! renamed), so the final files do not depend on the order in which points finished.

use crate::report::sweep::{csv_header, csv_line, jsonl_line, Row};
use anyhow::{bail, Context};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

pub const MANIFEST: &str = "manifest.json";
pub const JSONL: &str = "results.jsonl";
pub const CSV: &str = "results.csv";

/// What identifies a result set: two directories with equal manifests but for the shard hold
/// results of the same sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub scenario: String,
    /// A hash of the scenario as it runs (overrides and axes applied, layout and comments
    /// dropped): see `Source::canonical_text`.
    pub fingerprint: String,
    pub points: usize,
    pub columns: Vec<String>,
    /// `i/n`, or `None` for the whole grid.
    pub shard: Option<String>,
}

impl Manifest {
    fn to_json(&self) -> String {
        let value = json!({
            "capsim": env!("CARGO_PKG_VERSION"),
            "scenario": self.scenario,
            "fingerprint": self.fingerprint,
            "points": self.points,
            "columns": self.columns,
            "shard": self.shard,
        });
        let mut text = serde_json::to_string_pretty(&value).expect("JSON serializes");
        text.push('\n');
        text
    }

    pub fn read(dir: &Path) -> anyhow::Result<Option<Manifest>> {
        let path = dir.join(MANIFEST);
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("error: cannot read {}", path.display()))?;
        let bad = || format!("error: {} is not a capsim sweep manifest", path.display());
        let v: Value = serde_json::from_str(&text).with_context(bad)?;
        let string = |key: &str| v.get(key).and_then(Value::as_str).map(String::from);
        let manifest = (|| {
            Some(Manifest {
                scenario: string("scenario")?,
                fingerprint: string("fingerprint")?,
                points: v.get("points")?.as_u64()? as usize,
                columns: v
                    .get("columns")?
                    .as_array()?
                    .iter()
                    .map(|c| c.as_str().map(String::from))
                    .collect::<Option<_>>()?,
                shard: string("shard"),
            })
        })();
        manifest.map(Some).with_context(bad)
    }
}

/// Writes `content` to `dir/name` whole or not at all (see `output::write_whole`).
pub fn write_whole(dir: &Path, name: &str, content: &str) -> anyhow::Result<()> {
    super::output::write_whole(dir, name, content.as_bytes())
}

/// The rows of `results.jsonl`, by point. A last line cut short (the machine stopped in the
/// middle of writing it) is dropped; a point found twice keeps its first row.
pub fn read_rows(dir: &Path) -> anyhow::Result<BTreeMap<usize, Row>> {
    let path = dir.join(JSONL);
    let mut rows = BTreeMap::new();
    if !path.exists() {
        return Ok(rows);
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("error: cannot read {}", path.display()))?;
    let complete = match text.rfind('\n') {
        Some(end) => &text[..=end],
        None => "",
    };
    for (number, line) in complete.lines().enumerate() {
        let row: Row = serde_json::from_str(line).with_context(|| {
            format!("error: {}:{}: not a result row", path.display(), number + 1)
        })?;
        let Some(point) = row.get("point").and_then(Value::as_u64) else {
            bail!(
                "error: {}:{}: a row without its point number",
                path.display(),
                number + 1
            );
        };
        rows.entry(point as usize).or_insert(row);
    }
    Ok(rows)
}

/// Writes both result files in grid order, whole.
pub fn write_sorted(
    dir: &Path,
    columns: &[String],
    rows: &BTreeMap<usize, Row>,
) -> anyhow::Result<()> {
    let jsonl: String = rows.values().map(jsonl_line).collect();
    let mut csv = csv_header(columns);
    for row in rows.values() {
        csv.push_str(&csv_line(row, columns));
    }
    write_whole(dir, JSONL, &jsonl)?;
    write_whole(dir, CSV, &csv)
}

/// Where finished points go while a sweep runs: each row appended to both files in one write
/// each, at once, so that a crash of capsim (a kill, Ctrl-C, a panic) loses no finished point
/// and leaves at most a half line that reading drops. A thread of its own syncs the journal
/// to disk whenever it has new rows (group commit), so that a crash of the machine loses at
/// most the rows of the last few milliseconds, and the workers never wait for the disk.
pub struct Journal {
    dir: PathBuf,
    jsonl: File,
    csv: File,
    syncer: Option<Syncer>,
}

struct Syncer {
    shared: Arc<(Mutex<SyncState>, Condvar)>,
    thread: std::thread::JoinHandle<std::io::Result<()>>,
}

#[derive(Default)]
struct SyncState {
    dirty: bool,
    closing: bool,
}

impl Syncer {
    fn start(file: File) -> Syncer {
        let shared = Arc::new((Mutex::new(SyncState::default()), Condvar::new()));
        let theirs = shared.clone();
        let thread = std::thread::spawn(move || {
            let (lock, wake) = &*theirs;
            loop {
                let mut state = lock.lock().expect("the syncer's lock is never poisoned");
                while !state.dirty && !state.closing {
                    state = wake
                        .wait(state)
                        .expect("the syncer's lock is never poisoned");
                }
                let (dirty, closing) = (state.dirty, state.closing);
                state.dirty = false;
                drop(state);
                if dirty {
                    file.sync_data()?;
                }
                if closing && !dirty {
                    return Ok(());
                }
            }
        });
        Syncer { shared, thread }
    }

    fn mark_dirty(&self) {
        let (lock, wake) = &*self.shared;
        lock.lock()
            .expect("the syncer's lock is never poisoned")
            .dirty = true;
        wake.notify_one();
    }

    fn finish(self) -> std::io::Result<()> {
        let (lock, wake) = &*self.shared;
        lock.lock()
            .expect("the syncer's lock is never poisoned")
            .closing = true;
        wake.notify_one();
        self.thread
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the syncing thread panicked")))
    }
}

impl Journal {
    /// Opens the result files for appending (after `write_sorted` has laid them out).
    pub fn open(dir: &Path) -> anyhow::Result<Journal> {
        let open = |name: &str| {
            OpenOptions::new()
                .append(true)
                .open(dir.join(name))
                .with_context(|| format!("error: cannot open {}", dir.join(name).display()))
        };
        let jsonl = open(JSONL)?;
        let for_syncer = jsonl
            .try_clone()
            .with_context(|| format!("error: cannot open {}", dir.join(JSONL).display()))?;
        Ok(Journal {
            dir: dir.to_path_buf(),
            jsonl,
            csv: open(CSV)?,
            syncer: Some(Syncer::start(for_syncer)),
        })
    }

    pub fn append(&mut self, row: &Row, columns: &[String]) -> anyhow::Result<()> {
        let fail = || {
            format!(
                "error: cannot append to the results in {}",
                self.dir.display()
            )
        };
        self.jsonl
            .write_all(jsonl_line(row).as_bytes())
            .with_context(fail)?;
        self.csv
            .write_all(csv_line(row, columns).as_bytes())
            .with_context(fail)?;
        if let Some(syncer) = &self.syncer {
            syncer.mark_dirty();
        }
        Ok(())
    }

    /// Waits for the last rows to reach the disk.
    pub fn close(mut self) -> anyhow::Result<()> {
        let fail = || format!("error: cannot sync the results in {}", self.dir.display());
        if let Some(syncer) = self.syncer.take() {
            syncer.finish().with_context(fail)?;
        }
        self.csv.sync_data().with_context(fail)
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        if let Some(syncer) = self.syncer.take() {
            let _ = syncer.finish();
        }
    }
}

/// The finished points of the sweep `manifest` in `dir`, read and checked without writing
/// anything (so that the work budget can count only the points left before a file changes):
/// none for a new directory; with `resume`, the rows of a directory holding results of the
/// same sweep. Refuses to mix results.
pub fn finished(
    dir: &Path,
    manifest: &Manifest,
    resume: bool,
) -> anyhow::Result<BTreeMap<usize, Row>> {
    let existing = Manifest::read(dir)?;
    let has_rows = dir.join(JSONL).exists();
    Ok(match (&existing, resume) {
        (Some(found), true) => {
            if found.fingerprint != manifest.fingerprint || found.points != manifest.points {
                bail!(
                    "error: --resume {}: the results there are of another scenario (\"{}\", {} points, fingerprint {}) than this sweep (\"{}\", {} points, fingerprint {}); give another --out, or the same scenario, overrides and axes",
                    dir.display(), found.scenario, found.points, found.fingerprint,
                    manifest.scenario, manifest.points, manifest.fingerprint
                );
            }
            if found.columns != manifest.columns {
                bail!(
                    "error: --resume {}: the results there have other columns ({}) than this sweep writes ({}); they were written by another version of capsim",
                    dir.display(),
                    found.columns.join(","),
                    manifest.columns.join(",")
                );
            }
            if found.shard != manifest.shard {
                bail!(
                    "error: --resume {}: the results there are of shard {} and this is shard {}",
                    dir.display(),
                    found.shard.as_deref().unwrap_or("(whole grid)"),
                    manifest.shard.as_deref().unwrap_or("(whole grid)")
                );
            }
            read_rows(dir)?
        }
        (None, true) if has_rows => bail!(
            "error: --resume {}: it has results but no {MANIFEST}, so they cannot be matched to this sweep",
            dir.display()
        ),
        (Some(_), false) | (None, false) if has_rows => bail!(
            "error: --out {} already holds sweep results; add --resume to finish them, or give another directory",
            dir.display()
        ),
        _ => BTreeMap::new(),
    })
}

/// Starts (or restarts) the sweep `manifest` in `dir` with the rows `finished` returned: the
/// manifest, and both result files in grid order.
pub fn prepare(dir: &Path, manifest: &Manifest, rows: &BTreeMap<usize, Row>) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "error: cannot create the output directory {}",
            dir.display()
        )
    })?;
    write_whole(dir, MANIFEST, &manifest.to_json())?;
    write_sorted(dir, &manifest.columns, rows)
}

/// Joins shard directories into `out`: they must all be shards of one sweep (equal
/// fingerprints), all the same count `n`, every slice `0..n` exactly once, each complete.
pub fn merge(dirs: &[PathBuf], out: &Path) -> anyhow::Result<(Manifest, BTreeMap<usize, Row>)> {
    let mut shards = Vec::new();
    for dir in dirs {
        let manifest = Manifest::read(dir)?.with_context(|| {
            format!(
                "error: {} is not a sweep result directory (no {MANIFEST})",
                dir.display()
            )
        })?;
        shards.push((dir, manifest));
    }
    let Some((first_dir, first)) = shards.first() else {
        bail!("error: merge needs at least one shard directory");
    };
    let mut seen: BTreeMap<u32, &PathBuf> = BTreeMap::new();
    let mut count = None;
    let mut rows = BTreeMap::new();
    for (dir, m) in &shards {
        if m.fingerprint != first.fingerprint
            || m.points != first.points
            || m.columns != first.columns
        {
            bail!(
                "error: {} and {} hold results of different sweeps (\"{}\", fingerprint {} against \"{}\", fingerprint {}); only shards of one sweep can be merged",
                first_dir.display(), dir.display(), first.scenario, first.fingerprint, m.scenario, m.fingerprint
            );
        }
        let shard = match &m.shard {
            None => crate::sweep::grid::Shard::ALL,
            Some(text) => crate::sweep::grid::Shard::parse(text)
                .map_err(|e| anyhow::anyhow!("error: {}: {e}", dir.display()))?,
        };
        if *count.get_or_insert(shard.count) != shard.count {
            bail!(
                "error: {} is shard {shard}, but the others are cut into {} shards",
                dir.display(),
                count.unwrap_or(1)
            );
        }
        if let Some(other) = seen.insert(shard.index, dir) {
            bail!(
                "error: {} and {} are both shard {shard}",
                other.display(),
                dir.display()
            );
        }
        let found = read_rows(dir)?;
        let expected: Vec<usize> = shard.points(m.points).collect();
        let missing: Vec<usize> = expected
            .iter()
            .copied()
            .filter(|p| !found.contains_key(p))
            .collect();
        if !missing.is_empty() {
            bail!(
                "error: shard {shard} in {} is not finished: {} of its {} points are missing (the first is point {}); rerun it with --resume",
                dir.display(), missing.len(), expected.len(), missing[0]
            );
        }
        if let Some(stray) = found.keys().find(|p| !shard.contains(**p)) {
            bail!(
                "error: {} holds point {stray}, which is not in shard {shard}",
                dir.display()
            );
        }
        rows.extend(found);
    }
    let count = count.unwrap_or(1);
    let missing: Vec<String> = (0..count)
        .filter(|i| !seen.contains_key(i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        bail!(
            "error: shard {} missing; merge needs every slice of the grid",
            missing.join(", ")
        );
    }
    let manifest = Manifest {
        shard: None,
        ..first.clone()
    };
    std::fs::create_dir_all(out).with_context(|| {
        format!(
            "error: cannot create the output directory {}",
            out.display()
        )
    })?;
    write_whole(out, MANIFEST, &manifest.to_json())?;
    write_sorted(out, &manifest.columns, &rows)?;
    Ok((manifest, rows))
}
