//! The call graph's shape: cycles, and how many visits and how deep a request goes.
//!
//! Everything here is iterative, so that no scenario, however long its chain of services,
//! can overflow the stack while it is being checked.

/// Services as nodes, `calls` as edges (with repeats, in call order).
pub type Edges = [Vec<usize>];

/// A cycle in the graph, as the nodes along it (first node repeated at the end), if any.
pub fn find_cycle(edges: &Edges) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnStack,
        Done,
    }
    let mut mark = vec![Mark::New; edges.len()];
    for start in 0..edges.len() {
        if mark[start] != Mark::New {
            continue;
        }
        // Depth-first: each stack entry is a node and the index of its next edge to follow.
        let mut stack = vec![(start, 0)];
        mark[start] = Mark::OnStack;
        while let Some(top) = stack.last_mut() {
            let (node, next) = *top;
            let Some(&child) = edges[node].get(next) else {
                mark[node] = Mark::Done;
                stack.pop();
                continue;
            };
            top.1 += 1;
            match mark[child] {
                Mark::New => {
                    mark[child] = Mark::OnStack;
                    stack.push((child, 0));
                }
                Mark::OnStack => {
                    let from = stack
                        .iter()
                        .position(|&(n, _)| n == child)
                        .expect("on the stack");
                    let mut cycle: Vec<usize> = stack[from..].iter().map(|&(n, _)| n).collect();
                    cycle.push(child);
                    return Some(cycle);
                }
                Mark::Done => {}
            }
        }
    }
    None
}

/// For an acyclic graph: per node, the visits one request to it makes (itself included,
/// saturating) and the depth of its deepest call chain (1 for a node without calls).
pub fn visits_and_depth(edges: &Edges) -> Vec<(u64, u32)> {
    // Children before parents: a post-order of an iterative depth-first walk.
    let mut order = Vec::with_capacity(edges.len());
    let mut seen = vec![false; edges.len()];
    for start in 0..edges.len() {
        if seen[start] {
            continue;
        }
        seen[start] = true;
        let mut stack = vec![(start, 0)];
        while let Some(top) = stack.last_mut() {
            let (node, next) = *top;
            match edges[node].get(next) {
                Some(&child) => {
                    top.1 += 1;
                    if !seen[child] {
                        seen[child] = true;
                        stack.push((child, 0));
                    }
                }
                None => {
                    order.push(node);
                    stack.pop();
                }
            }
        }
    }
    let mut result = vec![(1u64, 1u32); edges.len()];
    for node in order {
        let (visits, depth) = edges[node].iter().fold((1u64, 1u32), |(v, d), &child| {
            let (cv, cd) = result[child];
            (v.saturating_add(cv), d.max(cd.saturating_add(1)))
        });
        result[node] = (visits, depth);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cycles_and_self_calls_but_not_diamonds() {
        assert_eq!(
            find_cycle(&[vec![1], vec![2], vec![0]]),
            Some(vec![0, 1, 2, 0])
        );
        assert_eq!(find_cycle(&[vec![0]]), Some(vec![0, 0]));
        // a -> b, a -> c, b -> d, c -> d: shared callee, no cycle.
        assert_eq!(find_cycle(&[vec![1, 2], vec![3], vec![3], vec![]]), None);
    }

    #[test]
    fn counts_visits_with_repeats_and_the_deepest_chain() {
        // a calls b twice and c; b calls c. Visits of a = 1 + 2 x (1 + 1) + 1 = 6; depth 3.
        let edges = [vec![1, 1, 2], vec![2], vec![]];
        assert_eq!(visits_and_depth(&edges), vec![(6, 3), (2, 2), (1, 1)]);
        // A chain of 100,000 services is checked without recursion.
        let chain: Vec<Vec<usize>> = (0..100_000)
            .map(|i| if i + 1 < 100_000 { vec![i + 1] } else { vec![] })
            .collect();
        assert_eq!(visits_and_depth(&chain)[0], (100_000, 100_000));
        assert_eq!(find_cycle(&chain), None);
    }
}
