//! [`Packed`]: a B-tree map filled one entry at a time that ends up with full nodes, for the
//! per-user maps of a sync (a report's 50,000 statuses).

use std::collections::BTreeMap;

/// A map filled one entry at a time whose B-tree nodes end up full. Inserts in key order leave
/// every node about half full (at 50,000 user statuses of ~350 bytes, ~13 MiB of empty
/// slots); [`BTreeMap::append`] into a non-empty map rebuilds it with full nodes. Entries
/// gather in `pending` and move into `full` whenever `pending` reaches a quarter of it, so
/// each entry is moved a bounded number of times (linear in all) and at most a fifth of the
/// map is ever in half-full nodes.
pub struct Packed<K, V> {
    full: BTreeMap<K, V>,
    pending: BTreeMap<K, V>,
}

impl<K, V> Default for Packed<K, V> {
    fn default() -> Self {
        Self {
            full: BTreeMap::new(),
            pending: BTreeMap::new(),
        }
    }
}

impl<K: Ord, V> Packed<K, V> {
    /// Smallest batch moved into the full map.
    const BATCH: usize = 1024;

    /// Inserts an entry (a later one with the same key replaces the earlier, as in a map).
    pub fn insert(&mut self, key: K, value: V) {
        self.pending.insert(key, value);
        if self.pending.len() >= Self::BATCH.max(self.full.len() / 4) {
            self.full.append(&mut self.pending);
        }
    }

    /// The whole map.
    pub fn finish(mut self) -> BTreeMap<K, V> {
        self.full.append(&mut self.pending);
        self.full
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_what_a_map_would_whatever_the_order() {
        let mut packed = Packed::default();
        let mut plain = BTreeMap::new();
        // Ascending, then descending, then keys seen before with new values.
        let keys = (0..5000u32)
            .chain((5000..9000).rev())
            .chain((0..9000).step_by(7));
        for (n, k) in keys.enumerate() {
            packed.insert(k, n);
            plain.insert(k, n);
        }
        assert_eq!(packed.finish(), plain);
        assert_eq!(Packed::<u8, u8>::default().finish(), BTreeMap::new());
    }
}
