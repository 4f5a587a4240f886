//! Disjoint sets over record indices: path halving and union by size, so a whole
//! store's worth of unions stays near-linear.

/// Disjoint sets of `0..n`.
#[derive(Debug, Clone)]
pub struct UnionFind {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl UnionFind {
    /// `n` singletons.
    pub fn new(n: usize) -> Self {
        Self { parent: (0..n).collect(), size: vec![1; n] }
    }

    /// The representative of `x`'s set.
    pub fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    /// Joins the sets of `a` and `b`; returns `(kept, absorbed)` roots, or `None` when they
    /// were already one set. The larger set's root is kept.
    pub fn union(&mut self, a: usize, b: usize) -> Option<(usize, usize)> {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return None;
        }
        let (keep, absorb) = if self.size[ra] >= self.size[rb] { (ra, rb) } else { (rb, ra) };
        self.parent[absorb] = keep;
        self.size[keep] += self.size[absorb];
        Some((keep, absorb))
    }

    /// The sets, each as ascending member indices, ordered by their smallest member.
    pub fn sets(&mut self) -> Vec<Vec<usize>> {
        let mut slot: Vec<Option<usize>> = vec![None; self.parent.len()];
        let mut sets: Vec<Vec<usize>> = Vec::new();
        for x in 0..self.parent.len() {
            let root = self.find(x);
            let i = *slot[root].get_or_insert_with(|| {
                sets.push(Vec::new());
                sets.len() - 1
            });
            sets[i].push(x);
        }
        sets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unions_join_sets_and_report_which_root_survives() {
        let mut uf = UnionFind::new(5);
        assert_eq!(uf.union(0, 1), Some((0, 1)));
        assert_eq!(uf.union(2, 1), Some((0, 2)), "the larger set keeps its root");
        assert_eq!(uf.union(0, 2), None);
        assert_eq!(uf.sets(), vec![vec![0, 1, 2], vec![3], vec![4]]);
    }
}
