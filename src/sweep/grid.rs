//! A sweep's grid: the product of its axes, its points numbered in the order of nested loops
//! (the first axis slowest, the last fastest), and the deterministic slices (shards) that
//! spread it over machines.

use crate::scenario::grid::Axis;
use std::fmt;

/// The product of some axes.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    pub axes: Vec<Axis>,
}

impl Grid {
    pub fn new(axes: Vec<Axis>) -> Grid {
        Grid { axes }
    }

    /// The number of points (1 for no axes: the scenario itself).
    pub fn len(&self) -> usize {
        self.axes.iter().map(|a| a.values.len()).product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value index on each axis of point `index`.
    pub fn coordinates(&self, mut index: usize) -> Vec<usize> {
        let mut out = vec![0; self.axes.len()];
        for (slot, axis) in out.iter_mut().zip(&self.axes).rev() {
            let n = axis.values.len();
            *slot = index % n;
            index /= n;
        }
        out
    }

    /// The point at the given value indices.
    pub fn index(&self, coordinates: &[usize]) -> usize {
        self.axes
            .iter()
            .zip(coordinates)
            .fold(0, |acc, (axis, &c)| acc * axis.values.len() + c)
    }

    /// `(path, value)` of every axis at point `index`: what to set on the scenario.
    pub fn settings(&self, index: usize) -> Vec<(&str, &toml::Value)> {
        self.settings_at(&self.coordinates(index))
    }

    pub fn settings_at(&self, coordinates: &[usize]) -> Vec<(&str, &toml::Value)> {
        self.axes
            .iter()
            .zip(coordinates)
            .map(|(axis, &c)| (axis.path.as_str(), &axis.values[c]))
            .collect()
    }
}

/// One slice of a grid: the points whose number is `index` modulo `count`. Striding rather
/// than cutting the grid in blocks spreads the expensive corner of a grid (high load, few
/// replicas) over every shard, so shards take about equally long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The most shards a grid may be cut into.
pub const MAX_SHARDS: u32 = 100_000;

impl Shard {
    /// The whole grid.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// `i/n` with `0 <= i < n`.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let usage = || {
            format!("--shard {text}: expected i/n with 0 <= i < n (e.g. 0/3, 1/3, 2/3), or auto")
        };
        let (i, n) = text.split_once('/').ok_or_else(usage)?;
        let index: u32 = i.trim().parse().map_err(|_| usage())?;
        let count: u32 = n.trim().parse().map_err(|_| usage())?;
        Shard::new(index, count).map_err(|e| format!("--shard {text}: {e}"))
    }

    fn new(index: u32, count: u32) -> Result<Shard, String> {
        if count == 0 || count > MAX_SHARDS {
            return Err(format!(
                "the count must be from 1 to {MAX_SHARDS}, found {count}"
            ));
        }
        if index >= count {
            return Err(format!(
                "shard {index} does not exist among {count} (they are numbered 0 to {})",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }

    /// `--shard auto`: the slice a cluster scheduler gave this process, from its environment
    /// (`env` looks a variable up). A Kubernetes Indexed Job sets `JOB_COMPLETION_INDEX`
    /// (from 0); the count comes from `CAPSIM_SHARDS` (set it to the Job's `completions`). A
    /// Slurm job array sets `SLURM_ARRAY_TASK_ID` and `SLURM_ARRAY_TASK_COUNT`, and
    /// `SLURM_ARRAY_TASK_MIN` when the array does not start at 0.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let number = |name: &str| -> Result<Option<u32>, String> {
            match env(name) {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| format!("--shard auto: {name}={v:?} is not a whole number")),
            }
        };
        let context = |e: String| format!("--shard auto: {e}");
        if let Some(index) = number("JOB_COMPLETION_INDEX")? {
            let count = number("CAPSIM_SHARDS")?.ok_or(
                "--shard auto: JOB_COMPLETION_INDEX is set but CAPSIM_SHARDS is not; set CAPSIM_SHARDS to the Job's completions",
            )?;
            return Shard::new(index, count).map_err(context);
        }
        if let Some(id) = number("SLURM_ARRAY_TASK_ID")? {
            let count = number("SLURM_ARRAY_TASK_COUNT")?.ok_or(
                "--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not",
            )?;
            let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let index = id.checked_sub(min).ok_or_else(|| {
                format!(
                    "--shard auto: SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}"
                )
            })?;
            return Shard::new(index, count).map_err(context);
        }
        Err("--shard auto: found neither JOB_COMPLETION_INDEX (Kubernetes Indexed Job, with CAPSIM_SHARDS) nor SLURM_ARRAY_TASK_ID (Slurm job array); give --shard i/n".into())
    }

    pub fn contains(&self, point: usize) -> bool {
        point % self.count as usize == self.index as usize
    }

    /// The points of a grid of `len` points in this slice, in order.
    pub fn points(&self, len: usize) -> impl Iterator<Item = usize> {
        (self.index as usize..len).step_by(self.count as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(path: &str, n: i64) -> Axis {
        Axis {
            path: path.into(),
            values: (0..n).map(toml::Value::Integer).collect(),
            monotone: false,
        }
    }

    #[test]
    fn points_are_numbered_like_nested_loops() {
        let grid = Grid::new(vec![axis("a", 2), axis("b", 3)]);
        assert_eq!(grid.len(), 6);
        let all: Vec<Vec<usize>> = (0..6).map(|i| grid.coordinates(i)).collect();
        assert_eq!(
            all,
            [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]].map(|c| c.to_vec())
        );
        for i in 0..6 {
            assert_eq!(grid.index(&grid.coordinates(i)), i);
        }
    }

    #[test]
    fn shards_cover_every_point_once() {
        let mut seen = [0; 10];
        for i in 0..3 {
            for p in Shard::parse(&format!("{i}/3")).unwrap().points(10) {
                seen[p] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n == 1));
        for bad in ["3/3", "1", "a/3", "1/0", "-1/3", "1/3/4", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad} is refused");
        }
    }

    #[test]
    fn auto_reads_kubernetes_and_slurm_variables() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let k8s = env(&[("JOB_COMPLETION_INDEX", "2"), ("CAPSIM_SHARDS", "4")]);
        assert_eq!(Shard::from_env(&k8s), Ok(Shard { index: 2, count: 4 }));
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_COUNT", "5"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ]);
        assert_eq!(Shard::from_env(&slurm), Ok(Shard { index: 4, count: 5 }));
        assert!(Shard::from_env(&env(&[("JOB_COMPLETION_INDEX", "2")]))
            .unwrap_err()
            .contains("CAPSIM_SHARDS"));
        assert!(Shard::from_env(&env(&[])).is_err());
    }
}
