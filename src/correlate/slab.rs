//! A slab with generations: open state (calls, streams, connections) lives in slots that are reused
//! once their occupant is finalized, and a [`Key`] names one occupant, so a stale key held by a cache,
//! an index or a timer never reaches the slot's next occupant.

/// Names one occupant of a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub slot: u32,
    pub generation: u32,
}

struct Entry<T> {
    generation: u32,
    value: Option<T>,
}

/// Slots of `T`, reused after removal.
pub struct Slab<T> {
    entries: Vec<Entry<T>>,
    free: Vec<u32>,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            entries: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Slab<T> {
    /// Occupied slots.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stores `value` and returns its key.
    pub fn insert(&mut self, value: T) -> Key {
        self.len += 1;
        if let Some(slot) = self.free.pop() {
            let e = &mut self.entries[slot as usize];
            e.generation = e.generation.wrapping_add(1);
            e.value = Some(value);
            return Key {
                slot,
                generation: e.generation,
            };
        }
        let slot = u32::try_from(self.entries.len()).expect("fewer than 2^32 open slots");
        self.entries.push(Entry {
            generation: 0,
            value: Some(value),
        });
        Key {
            slot,
            generation: 0,
        }
    }

    pub fn get(&self, key: Key) -> Option<&T> {
        let e = self.entries.get(key.slot as usize)?;
        (e.generation == key.generation)
            .then_some(e.value.as_ref())
            .flatten()
    }

    pub fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        let e = self.entries.get_mut(key.slot as usize)?;
        (e.generation == key.generation)
            .then_some(e.value.as_mut())
            .flatten()
    }

    /// Takes the occupant out; its key is dead from now on.
    pub fn remove(&mut self, key: Key) -> Option<T> {
        let e = self.entries.get_mut(key.slot as usize)?;
        if e.generation != key.generation {
            return None;
        }
        let value = e.value.take()?;
        self.free.push(key.slot);
        self.len -= 1;
        Some(value)
    }

    /// Every occupant with its key, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (Key, &T)> {
        self.entries.iter().enumerate().filter_map(|(slot, e)| {
            e.value.as_ref().map(|v| {
                (
                    Key {
                        slot: slot as u32,
                        generation: e.generation,
                    },
                    v,
                )
            })
        })
    }

    /// Every occupant's key, in slot order.
    pub fn keys(&self) -> Vec<Key> {
        self.iter().map(|(k, _)| k).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_key_does_not_reach_the_next_occupant() {
        let mut s = Slab::default();
        let a = s.insert("a");
        assert_eq!(s.remove(a), Some("a"));
        let b = s.insert("b");
        assert_eq!(a.slot, b.slot);
        assert_eq!(s.get(a), None);
        assert_eq!(s.remove(a), None);
        assert_eq!(s.get(b), Some(&"b"));
        assert_eq!(s.len(), 1);
        assert_eq!(s.keys(), vec![b]);
    }
}
