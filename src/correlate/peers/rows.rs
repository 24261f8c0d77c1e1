//! Row storage for the peer table: values in reused slots, found by key through an index, and
//! threaded on an intrusive list in the order they were last active (least recently first), so that
//! touching a row, removing it and finding the least recently active one are each O(1).
//!
//! The table keeps two such lists: the pair rows (touched by every event of their pair) and the
//! keep-alive pings waiting for their pong (in the order they were sent). A value names its own key
//! ([`Keyed`]), so the key is not stored at all in the index: a `hashbrown::HashTable` of slot
//! numbers, about 5 bytes an entry (a hash map from key to slot took 56 per entry for a pair's key),
//! hashed and compared through the values the slots hold. The slots sit in fixed pages, so that a
//! table growing to tens of thousands of rows never copies them to a vector twice the size (which
//! held the old and the new copy at once, and up to half of the new one unused).

use std::hash::{BuildHasher, Hash};
use std::ops::{Index, IndexMut};

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

/// No slot: the end of the list.
const NIL: u32 = u32::MAX;

/// A value that carries its key.
pub(super) trait Keyed {
    type Key: Copy + Eq + Hash;
    fn key(&self) -> Self::Key;
}

/// Slots per page.
const PAGE: usize = 1024;

/// A growable list of slots in pages of [`PAGE`]: pushing never moves what is stored.
struct Pages<T> {
    pages: Vec<Vec<T>>,
    len: usize,
}

impl<T> Pages<T> {
    fn len(&self) -> usize {
        self.len
    }

    fn get(&self, i: usize) -> Option<&T> {
        self.pages.get(i / PAGE)?.get(i % PAGE)
    }

    fn push(&mut self, value: T) {
        if self.len.is_multiple_of(PAGE) {
            self.pages.push(Vec::with_capacity(PAGE));
        }
        if let Some(page) = self.pages.last_mut() {
            page.push(value);
        }
        self.len += 1;
    }
}

impl<T> Index<usize> for Pages<T> {
    type Output = T;
    fn index(&self, i: usize) -> &T {
        &self.pages[i / PAGE][i % PAGE]
    }
}

impl<T> IndexMut<usize> for Pages<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        &mut self.pages[i / PAGE][i % PAGE]
    }
}

struct Slot<V> {
    /// `None` while the slot is free.
    value: Option<V>,
    /// When the value was last active (capture clock, ns).
    last: i64,
    /// Neighbours on the list: towards the least recently active, towards the most.
    older: u32,
    newer: u32,
}

/// Values by key, least recently active first; see the module doc.
pub(super) struct Rows<V: Keyed> {
    /// Slot numbers, by the hash of the key of the value in the slot.
    index: HashTable<u32>,
    slots: Pages<Slot<V>>,
    free: Vec<u32>,
    /// The least and the most recently active slot.
    oldest: u32,
    newest: u32,
}

impl<V: Keyed> Default for Rows<V> {
    fn default() -> Self {
        Rows {
            index: HashTable::new(),
            slots: Pages {
                pages: Vec::new(),
                len: 0,
            },
            free: Vec::new(),
            oldest: NIL,
            newest: NIL,
        }
    }
}

impl<V: Keyed> Rows<V> {
    pub(super) fn len(&self) -> usize {
        self.index.len()
    }

    fn key_at(&self, slot: u32) -> Option<V::Key> {
        let value = self.slots.get(slot as usize)?.value.as_ref()?;
        Some(value.key())
    }

    /// The slot of `key`, if it is stored.
    fn slot(&self, key: &V::Key) -> Option<u32> {
        self.index
            .find(hash(key), |&slot| self.key_at(slot) == Some(*key))
            .copied()
    }

    /// Takes slot `i` off the list.
    fn unlink(&mut self, i: u32) {
        let (older, newer) = {
            let s = &self.slots[i as usize];
            (s.older, s.newer)
        };
        match older {
            NIL => self.oldest = newer,
            o => self.slots[o as usize].newer = newer,
        }
        match newer {
            NIL => self.newest = older,
            n => self.slots[n as usize].older = older,
        }
    }

    /// Puts slot `i` at the most recent end of the list, active at `now`.
    fn link_newest(&mut self, i: u32, now: i64) {
        let newest = self.newest;
        let s = &mut self.slots[i as usize];
        s.last = now;
        s.older = newest;
        s.newer = NIL;
        match newest {
            NIL => self.oldest = i,
            n => self.slots[n as usize].newer = i,
        }
        self.newest = i;
    }

    pub(super) fn contains(&self, key: &V::Key) -> bool {
        self.slot(key).is_some()
    }

    /// The value under `key`, made the most recently active (at `now`).
    pub(super) fn touch(&mut self, key: &V::Key, now: i64) -> Option<&mut V> {
        let i = self.slot(key)?;
        self.unlink(i);
        self.link_newest(i, now);
        self.slots[i as usize].value.as_mut()
    }

    /// Stores `value` (its key must not be stored yet) as the most recently active, at `now`.
    pub(super) fn insert(&mut self, value: V, now: i64) -> &mut V {
        let key = value.key();
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize].value = Some(value);
                i
            }
            None => {
                let i = u32::try_from(self.slots.len()).expect("fewer than 2^32 rows");
                self.slots.push(Slot {
                    value: Some(value),
                    last: now,
                    older: NIL,
                    newer: NIL,
                });
                i
            }
        };
        let slots = &self.slots;
        self.index.insert_unique(hash(&key), i, |&slot| {
            let value = slots[slot as usize].value.as_ref();
            hash(&value.expect("an indexed slot holds a value").key())
        });
        self.link_newest(i, now);
        self.slots[i as usize].value.as_mut().expect("just stored")
    }

    fn take(&mut self, i: u32) -> V {
        let key = self.key_at(i).expect("a slot on the list holds a value");
        if let Ok(entry) = self.index.find_entry(hash(&key), |&slot| slot == i) {
            entry.remove();
        }
        self.unlink(i);
        self.free.push(i);
        self.slots[i as usize]
            .value
            .take()
            .expect("a slot on the list holds a value")
    }

    pub(super) fn remove(&mut self, key: &V::Key) -> Option<V> {
        let i = self.slot(key)?;
        Some(self.take(i))
    }

    /// The least recently active value and when it was last active.
    pub(super) fn oldest(&self) -> Option<(&V, i64)> {
        let s = self.slots.get(self.oldest as usize)?;
        Some((s.value.as_ref()?, s.last))
    }

    pub(super) fn pop_oldest(&mut self) -> Option<V> {
        match self.oldest {
            NIL => None,
            i => Some(self.take(i)),
        }
    }
}

/// The hash of a key as the index keeps it.
fn hash<K: Hash>(key: &K) -> u64 {
    FxBuildHasher.hash_one(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value keyed by its first field.
    #[derive(Debug, PartialEq)]
    struct Row(u8, &'static str);

    impl Keyed for Row {
        type Key = u8;
        fn key(&self) -> u8 {
            self.0
        }
    }

    fn order(rows: &mut Rows<Row>) -> Vec<(u8, i64)> {
        let mut out = Vec::new();
        while let Some((row, last)) = rows.oldest() {
            out.push((row.0, last));
            rows.pop_oldest();
        }
        assert_eq!(rows.len(), 0);
        out
    }

    #[test]
    fn rows_come_out_least_recently_active_first() {
        let mut rows = Rows::default();
        for k in 1..=4 {
            rows.insert(Row(k, "x"), i64::from(k) * 10);
        }
        assert_eq!(rows.touch(&2, 50).map(|r| r.1), Some("x"));
        assert_eq!(rows.touch(&9, 60), None, "an absent key is not created");
        assert_eq!(rows.remove(&3), Some(Row(3, "x")));
        assert_eq!(rows.remove(&3), None);
        rows.touch(&1, 70).expect("row 1").1 = "y";
        assert_eq!(rows.len(), 3);
        assert_eq!(order(&mut rows), [(4, 40), (2, 50), (1, 70)]);
    }

    /// A value keyed by a number.
    struct Num(u32);

    impl Keyed for Num {
        type Key = u32;
        fn key(&self) -> u32 {
            self.0
        }
    }

    #[test]
    fn the_index_finds_every_key_through_growth_and_removals() {
        let mut rows: Rows<Num> = Rows::default();
        let mut held = std::collections::BTreeSet::new();
        // Keys inserted and removed in a scrambled order, so the index grows and slots are reused.
        for step in 0..20_000u32 {
            let key = step.wrapping_mul(2_654_435_761) % 3_000;
            if held.remove(&key) {
                assert_eq!(rows.remove(&key).map(|n| n.0), Some(key));
            } else {
                rows.insert(Num(key), i64::from(step));
                held.insert(key);
            }
            if step % 997 == 0 {
                for k in 0..3_000 {
                    assert_eq!(
                        rows.contains(&k),
                        held.contains(&k),
                        "key {k} at step {step}"
                    );
                }
            }
        }
        assert_eq!(rows.len(), held.len());
        assert!(
            rows.slots.pages.len() > 1,
            "the slots fill more than a page"
        );
        assert!(
            rows.slots.pages.iter().all(|p| p.capacity() == PAGE),
            "pages keep their size: growing never moved a slot"
        );
        while let Some(n) = rows.pop_oldest() {
            assert!(held.remove(&n.0));
        }
        assert!(held.is_empty() && rows.index.is_empty());
    }

    #[test]
    fn freed_slots_are_reused_and_the_list_stays_whole() {
        let mut rows = Rows::default();
        rows.insert(Row(1, "a"), 1);
        rows.insert(Row(2, "b"), 2);
        // Remove the newest, then the oldest: both ends of the list move.
        rows.remove(&2);
        rows.remove(&1);
        assert!(rows.oldest().is_none());
        rows.insert(Row(3, "c"), 3);
        rows.insert(Row(4, "d"), 4);
        assert_eq!(rows.slots.len(), 2, "the two free slots were reused");
        rows.touch(&3, 5);
        rows.insert(Row(5, "e"), 6);
        assert_eq!(rows.pop_oldest(), Some(Row(4, "d")));
        assert_eq!(order(&mut rows), [(3, 5), (5, 6)]);
    }
}
