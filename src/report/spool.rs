//! A sorted spool: items a renderer produced in capture order (calls as they were finalized, streams
//! as they ended), given back in report order, in bounded memory; `Firsts`, the first few items by
//! key of a list too long to print whole; and a [`Store`], items kept on disk and read back one at a
//! time, for an interactive view of a run.
//!
//! Items are kept in memory up to a budget; past it they are sorted and written to a temporary file
//! as a run, and at the end the runs and what is left in memory are merged by key (ties keep the order
//! items came in). A short capture never touches the disk; a long one costs one write and one read of
//! its rendered items, whatever their number.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// The order of an item: compared as a pair.
pub(crate) type Key = (u64, u64);

/// Bytes kept in memory before a run goes to disk.
const BUDGET: usize = 4 << 20;
/// Read buffer per run while merging.
const READ_BUF: usize = 64 << 10;

/// A temporary file, removed when dropped.
struct Temp {
    file: File,
    path: PathBuf,
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn temp_file() -> io::Result<Temp> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        "callscope-spool-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    Ok(Temp { file, path })
}

/// Items by key, in bounded memory.
#[derive(Default)]
pub(crate) struct Spool {
    items: Vec<(Key, u64, Vec<u8>)>,
    bytes: usize,
    seq: u64,
    /// Runs on disk: (offset, length) in `temp`.
    runs: Vec<(u64, u64)>,
    temp: Option<Temp>,
    /// The first error writing a run (reported when the spool is drained).
    error: Option<io::Error>,
}

/// The first `cap` items by key of a list only partly printed (the call list, the healthy SIP peers):
/// a max-heap with the last kept item on top, so an item that cannot be among them is known before
/// it is rendered ([`Firsts::offer`]) and memory is `cap` items whatever the list's length.
pub(crate) struct Firsts {
    cap: usize,
    heap: BinaryHeap<(Key, Vec<u8>)>,
    offered: u64,
}

impl Firsts {
    pub(crate) fn new(cap: usize) -> Firsts {
        Firsts {
            cap,
            heap: BinaryHeap::new(),
            offered: 0,
        }
    }

    /// Keeps the item `render` makes if `key` is among the first `cap` so far; renders nothing
    /// otherwise (`render` gives `None` when rendering failed).
    pub(crate) fn offer(&mut self, key: Key, render: impl FnOnce() -> Option<Vec<u8>>) {
        self.offered += 1;
        if self.heap.len() >= self.cap && self.heap.peek().is_none_or(|(last, _)| key >= *last) {
            return;
        }
        if let Some(item) = render() {
            self.heap.push((key, item));
            if self.heap.len() > self.cap {
                self.heap.pop();
            }
        }
    }

    /// Items offered, kept or not.
    pub(crate) fn offered(&self) -> u64 {
        self.offered
    }

    /// Takes the kept items out, by key.
    pub(crate) fn take_sorted(&mut self) -> Vec<(Key, Vec<u8>)> {
        std::mem::take(&mut self.heap).into_sorted_vec()
    }
}

impl Spool {
    /// Items pushed so far.
    pub(crate) fn len(&self) -> u64 {
        self.seq
    }

    pub(crate) fn push(&mut self, key: Key, item: Vec<u8>) {
        self.bytes += item.len() + 32;
        self.items.push((key, self.seq, item));
        self.seq += 1;
        if self.bytes > BUDGET && self.error.is_none() {
            if let Err(e) = self.spill() {
                self.error = Some(e);
            }
        }
    }

    /// Writes what is in memory as a sorted run.
    fn spill(&mut self) -> io::Result<()> {
        if self.temp.is_none() {
            self.temp = Some(temp_file()?);
        }
        let temp = self.temp.as_mut().expect("just made");
        let start = temp.file.seek(SeekFrom::End(0))?;
        self.items.sort_by_key(|a| (a.0, a.1));
        let mut w = BufWriter::new(&mut temp.file);
        for (key, seq, item) in self.items.drain(..) {
            w.write_all(&key.0.to_le_bytes())?;
            w.write_all(&key.1.to_le_bytes())?;
            w.write_all(&seq.to_le_bytes())?;
            w.write_all(&(item.len() as u64).to_le_bytes())?;
            w.write_all(&item)?;
        }
        w.flush()?;
        drop(w);
        let end = temp.file.stream_position()?;
        self.runs.push((start, end - start));
        self.bytes = 0;
        Ok(())
    }

    /// Hands every item to `each` in key order.
    pub(crate) fn drain(mut self, mut each: impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.items.sort_by_key(|a| (a.0, a.1));
        if self.runs.is_empty() {
            for (_, _, item) in &self.items {
                each(item)?;
            }
            return Ok(());
        }
        let temp = self.temp.as_ref().expect("runs live in the temp file");
        let mut readers: Vec<RunReader> = self
            .runs
            .iter()
            .map(|&(offset, len)| RunReader::new(temp, offset, len))
            .collect::<io::Result<_>>()?;
        // The merge: one head per run, plus the items still in memory as one more source.
        let memory = readers.len();
        let mut heap = BinaryHeap::new();
        for (i, r) in readers.iter_mut().enumerate() {
            if let Some(head) = r.next()? {
                heap.push(Reverse((head.0, head.1, i, head.2)));
            }
        }
        let mut in_memory = self.items.into_iter();
        if let Some((key, seq, item)) = in_memory.next() {
            heap.push(Reverse((key, seq, memory, item)));
        }
        while let Some(Reverse((_, _, source, item))) = heap.pop() {
            each(&item)?;
            let next = if source == memory {
                in_memory.next()
            } else {
                readers[source].next()?
            };
            if let Some((key, seq, item)) = next {
                heap.push(Reverse((key, seq, source, item)));
            }
        }
        Ok(())
    }
}

/// Items written to a temporary file as they come and read back by their number: memory holds
/// their places (16 bytes each) and a write buffer.
pub struct Store {
    places: Vec<(u64, u64)>,
    end: u64,
    file: Option<(BufWriter<File>, Temp)>,
    error: Option<io::Error>,
}

impl Default for Store {
    fn default() -> Self {
        Store::new()
    }
}

impl Store {
    pub fn new() -> Store {
        Store {
            places: Vec::new(),
            end: 0,
            file: None,
            error: None,
        }
    }

    /// Keeps an item; its number is the count before it.
    pub fn push(&mut self, item: &[u8]) -> usize {
        if self.error.is_none() {
            if let Err(e) = self.write(item) {
                self.error = Some(e);
            }
        }
        self.places.push((self.end, item.len() as u64));
        self.end += item.len() as u64;
        self.places.len() - 1
    }

    fn write(&mut self, item: &[u8]) -> io::Result<()> {
        if self.file.is_none() {
            let temp = temp_file()?;
            let file = temp.file.try_clone()?;
            self.file = Some((BufWriter::with_capacity(READ_BUF, file), temp));
        }
        let (w, _) = self.file.as_mut().expect("just made");
        w.write_all(item)
    }

    /// Items kept.
    pub fn len(&self) -> usize {
        self.places.len()
    }

    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    /// Item `n`, read back from the file.
    pub fn get(&mut self, n: usize) -> io::Result<Vec<u8>> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let (offset, len) = *self
            .places
            .get(n)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no item {n}")))?;
        let Some((w, temp)) = self.file.as_mut() else {
            return Ok(Vec::new());
        };
        w.flush()?;
        let mut item = vec![0; usize::try_from(len).unwrap_or(usize::MAX)];
        // The writer's handle shares the file position: read, then put it back at the end.
        temp.file.seek(SeekFrom::Start(offset))?;
        temp.file.read_exact(&mut item)?;
        temp.file.seek(SeekFrom::End(0))?;
        Ok(item)
    }
}

/// Reads one run back, buffered, through a handle of its own (opened by path, so its position is
/// independent of the other runs').
struct RunReader {
    left: u64,
    buf: io::BufReader<io::Take<File>>,
}

impl RunReader {
    fn new(temp: &Temp, offset: u64, len: u64) -> io::Result<RunReader> {
        let mut file = File::open(&temp.path)?;
        file.seek(SeekFrom::Start(offset))?;
        Ok(RunReader {
            left: len,
            buf: io::BufReader::with_capacity(READ_BUF, file.take(len)),
        })
    }

    fn next(&mut self) -> io::Result<Option<(Key, u64, Vec<u8>)>> {
        if self.left == 0 {
            return Ok(None);
        }
        let mut head = [0u8; 32];
        self.buf.read_exact(&mut head)?;
        let word =
            |i: usize| u64::from_le_bytes(head[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        let (k0, k1, seq, len) = (word(0), word(1), word(2), word(3));
        let mut item = vec![0; usize::try_from(len).unwrap_or(usize::MAX)];
        self.buf.read_exact(&mut item)?;
        self.left = self.left.saturating_sub(32 + len);
        Ok(Some(((k0, k1), seq, item)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drained(s: Spool) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        s.drain(|b| {
            out.push(b.to_vec());
            Ok(())
        })
        .expect("drains");
        out
    }

    #[test]
    fn items_come_back_in_key_order_ties_in_arrival_order() {
        let mut s = Spool::default();
        for (k, v) in [(3, "c"), (1, "a"), (2, "b1"), (2, "b2")] {
            s.push((k, 0), v.as_bytes().to_vec());
        }
        assert_eq!(
            drained(s),
            ["a", "b1", "b2", "c"].map(|v| v.as_bytes().to_vec())
        );
    }

    #[test]
    fn a_store_gives_items_back_by_number() {
        let mut store = Store::new();
        for i in 0..1000u32 {
            assert_eq!(store.push(format!("item {i}").as_bytes()), i as usize);
        }
        assert_eq!(store.get(7).expect("item 7"), b"item 7");
        assert_eq!(store.get(999).expect("item 999"), b"item 999");
        store.push(b"");
        store.push(b"after a read");
        assert_eq!(
            store.get(1001).expect("written after a read"),
            b"after a read"
        );
        assert_eq!(store.get(1000).expect("an empty item"), b"");
        assert_eq!(store.get(0).expect("item 0"), b"item 0");
        assert!(store.get(1002).is_err());
        let path = store
            .file
            .as_ref()
            .map(|(_, t)| t.path.clone())
            .expect("a file");
        drop(store);
        assert!(!path.exists(), "the temp file is gone");
    }

    #[test]
    fn runs_spilled_to_disk_merge_with_what_is_in_memory() {
        let mut s = Spool::default();
        // Far more than the budget, in a scrambled order.
        let n: u64 = 40_000;
        for i in 0..n {
            let k = (i * 7919) % n;
            s.push((k / 10, k % 10), vec![(k % 251) as u8; 200]);
        }
        assert!(!s.runs.is_empty(), "it spilled");
        let path = s
            .temp
            .as_ref()
            .map(|t| t.path.clone())
            .expect("a temp file");
        let out = drained(s);
        assert_eq!(out.len(), n as usize);
        for (k, item) in out.iter().enumerate() {
            assert_eq!(item, &vec![(k as u64 % 251) as u8; 200]);
        }
        assert!(!path.exists(), "the temp file is gone");
    }
}
