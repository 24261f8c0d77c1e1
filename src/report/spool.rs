//! A sorted spool: items a renderer produced in capture order (calls as they were finalized, streams
//! as they ended), given back in report order, in bounded memory; `Firsts`, the first few items by
//! key of a list too long to print whole; and a [`Store`], items kept on disk and read back one at a
//! time, for an interactive view of a run.
//!
//! Items are kept in memory up to a budget; past it they are sorted and the lower half written to a
//! temporary file as a run, and at the end the runs and what is left in memory are merged by key (ties
//! keep the order items came in). Items nearly always come nearly in key order (calls are finalized a
//! grace window after they end, so a short call numbered after a longer one comes first): the half
//! held back takes in the late ones, and a spill whose items all follow the last run's is appended
//! to it, so such a stream makes one run, written once and read once. Out of order items start a run
//! of their own; every 32 runs of a level are merged into one run of the level above as they come, so
//! a merge never opens more than a few dozen files and read buffers, however many items there are. A
//! short capture never touches the disk; a long one costs a write and a read of its rendered items,
//! and one more per level where they came out of order (one up to 64 MiB of them, two up to 2 GiB).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// The order of an item: compared as a pair.
pub(crate) type Key = (u64, u64);

/// Bytes kept in memory before a run goes to disk.
const BUDGET: usize = 4 << 20;
/// Runs of one level merged into one run a level up.
const FAN_IN: usize = 32;
/// Write buffer of a [`Store`].
const READ_BUF: usize = 64 << 10;
/// Bytes of items (with their 32-byte heads) written together in a run, LZ4's window: a run is a
/// sequence of blocks, each item whole in one; a merge holds one block a run.
const BLOCK: usize = 64 << 10;
/// Bytes a spool writes raw before its blocks are LZ4-compressed: pretty JSON shrinks about eight
/// times, which a long capture needs (1 M calls: 4.5 GB of runs raw, evicting the capture from the
/// page cache, 0.6 GB compressed; system time 19 s to 6 s), and a short one pays for (10 k calls:
/// 45 MB, about 8 % slower compressed).
const COMPRESS_AFTER: u64 = 64 << 20;

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
pub(crate) struct Spool {
    items: Vec<(Key, u64, Vec<u8>)>,
    bytes: usize,
    seq: u64,
    /// Bytes kept in memory before a run goes to disk, and runs of one level merged into one.
    budget: usize,
    fan_in: usize,
    /// Runs on disk, a file each; levels never rise along the list (see [`Spool::spill`]).
    runs: Vec<Run>,
    /// Bytes written to runs so far, and past how many blocks are compressed.
    written: u64,
    compress_after: u64,
    /// The first error writing a run (reported when the spool is drained).
    error: Option<io::Error>,
}

/// One sorted run in a file of its own; its level is how many merges made it, `last` the order of
/// its last item (a spill whose items all come after it is appended).
struct Run {
    temp: Temp,
    level: u32,
    last: (Key, u64),
}

impl Default for Spool {
    fn default() -> Self {
        Spool::new(BUDGET, FAN_IN, COMPRESS_AFTER)
    }
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
    fn new(budget: usize, fan_in: usize, compress_after: u64) -> Spool {
        Spool {
            items: Vec::new(),
            bytes: 0,
            seq: 0,
            budget,
            fan_in: fan_in.max(2),
            runs: Vec::new(),
            written: 0,
            compress_after,
            error: None,
        }
    }

    /// Items pushed so far.
    pub(crate) fn len(&self) -> u64 {
        self.seq
    }

    pub(crate) fn push(&mut self, key: Key, item: Vec<u8>) {
        self.bytes += item.len() + 32;
        self.items.push((key, self.seq, item));
        self.seq += 1;
        if self.bytes > self.budget && self.error.is_none() {
            if let Err(e) = self.spill() {
                self.error = Some(e);
            }
        }
    }

    /// Writes the lower half (by bytes) of what is in memory, sorted: appended to the last run when
    /// it all comes after that run's items, else as a run of level 0; then, while the last `fan_in`
    /// runs share a level, merges them into one run a level up (a counter in base `fan_in`), so the
    /// runs held — and the read buffers and files a merge opens — stay few however long the
    /// capture: at most `fan_in - 1` per level, each level `fan_in` times the items of the one below.
    fn spill(&mut self) -> io::Result<()> {
        self.items.sort_by_key(|a| (a.0, a.1));
        let mut written = 0;
        let cut = self
            .items
            .iter()
            .position(|(_, _, item)| {
                written += item.len() + 32;
                written > self.bytes / 2
            })
            .map_or(self.items.len(), |i| i.max(1));
        let held = self.items.split_off(cut);
        let first = self.items.first().map(|(key, seq, _)| (*key, *seq));
        let append = match (self.runs.last(), first) {
            (Some(run), Some(first)) => run.last < first,
            _ => false,
        };
        let compress = self.written > self.compress_after;
        let mut run = match (append, self.runs.pop()) {
            (true, Some(last)) => RunWriter::append(last, compress)?,
            (_, last) => {
                self.runs.extend(last);
                RunWriter::new(0, compress)?
            }
        };
        for (key, seq, item) in self.items.drain(..) {
            self.bytes -= item.len() + 32;
            self.written += item.len() as u64 + 32;
            run.write(key, seq, &item)?;
        }
        self.runs.push(run.finish()?);
        self.items = held;
        while let Some(level) = self.full_level() {
            let merged = self.runs.split_off(self.runs.len() - self.fan_in);
            let mut run = RunWriter::new(level + 1, compress)?;
            merge(&merged, Vec::new(), |key, seq, item| {
                run.write(key, seq, item)
            })?;
            self.runs.push(run.finish()?);
        }
        Ok(())
    }

    /// The level of the last `fan_in` runs when they all share it.
    fn full_level(&self) -> Option<u32> {
        let tail = self.runs.get(self.runs.len().checked_sub(self.fan_in)?..)?;
        let level = tail.first()?.level;
        tail.iter().all(|r| r.level == level).then_some(level)
    }

    /// Hands every item to `each` in key order.
    pub(crate) fn drain(mut self, mut each: impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.items.sort_by_key(|a| (a.0, a.1));
        merge(&self.runs, self.items, |_, _, item| each(item))
    }
}

/// Merges sorted runs and sorted items in memory by (key, arrival), handing each item to `each`;
/// each run's items are read, one at a time, into a buffer of its own.
fn merge(
    runs: &[Run],
    memory: Vec<(Key, u64, Vec<u8>)>,
    mut each: impl FnMut(Key, u64, &[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let mut readers: Vec<RunReader> = runs
        .iter()
        .map(|r| RunReader::new(&r.temp))
        .collect::<io::Result<_>>()?;
    // One head per run, plus the items in memory as one more source.
    let from_memory = readers.len();
    let mut heap = BinaryHeap::new();
    for (i, r) in readers.iter_mut().enumerate() {
        if let Some((key, seq)) = r.next()? {
            heap.push(Reverse((key, seq, i)));
        }
    }
    let mut in_memory = memory.into_iter();
    let mut held = in_memory.next();
    if let Some((key, seq, _)) = &held {
        heap.push(Reverse((*key, *seq, from_memory)));
    }
    while let Some(Reverse((key, seq, source))) = heap.pop() {
        let next = if source == from_memory {
            let item = held.take().map(|(_, _, item)| item).unwrap_or_default();
            each(key, seq, &item)?;
            held = in_memory.next();
            held.as_ref().map(|(key, seq, _)| (*key, *seq))
        } else {
            let reader = &mut readers[source];
            each(key, seq, reader.item())?;
            reader.next()?
        };
        if let Some((key, seq)) = next {
            heap.push(Reverse((key, seq, source)));
        }
    }
    Ok(())
}

/// Writes one sorted run to a temporary file of its own, or more of it at its end: per item its
/// key, arrival number and length (32 bytes), then the item, gathered into blocks of about
/// [`BLOCK`] bytes, each written after its raw and compressed lengths (8 bytes), LZ4-compressed
/// when `compress` (else its compressed length is 0 and the raw bytes follow).
struct RunWriter {
    out: File,
    temp: Temp,
    level: u32,
    last: (Key, u64),
    compress: bool,
    block: Vec<u8>,
    packed: Vec<u8>,
}

impl RunWriter {
    fn new(level: u32, compress: bool) -> io::Result<RunWriter> {
        let temp = temp_file()?;
        let out = temp.file.try_clone()?;
        Ok(RunWriter::at(out, temp, level, ((0, 0), 0), compress))
    }

    /// Goes on writing `run` after its last item.
    fn append(run: Run, compress: bool) -> io::Result<RunWriter> {
        let mut out = run.temp.file.try_clone()?;
        out.seek(SeekFrom::End(0))?;
        Ok(RunWriter::at(out, run.temp, run.level, run.last, compress))
    }

    fn at(out: File, temp: Temp, level: u32, last: (Key, u64), compress: bool) -> RunWriter {
        RunWriter {
            out,
            temp,
            level,
            last,
            compress,
            block: Vec::with_capacity(BLOCK),
            packed: Vec::new(),
        }
    }

    fn write(&mut self, key: Key, seq: u64, item: &[u8]) -> io::Result<()> {
        if !self.block.is_empty() && self.block.len() + 32 + item.len() > BLOCK {
            self.flush_block()?;
        }
        for word in [key.0, key.1, seq, item.len() as u64] {
            self.block.extend_from_slice(&word.to_le_bytes());
        }
        self.block.extend_from_slice(item);
        self.last = (key, seq);
        Ok(())
    }

    fn flush_block(&mut self) -> io::Result<()> {
        let too_big = || io::Error::other("a spooled block over 4 GiB");
        let raw = u32::try_from(self.block.len()).map_err(|_| too_big())?;
        // A compressed length of 0 marks a raw block (LZ4 never packs bytes into none).
        let (packed, body) = if self.compress {
            self.packed.resize(
                lz4_flex::block::get_maximum_output_size(self.block.len()),
                0,
            );
            let n = lz4_flex::block::compress_into(&self.block, &mut self.packed)
                .map_err(io::Error::other)?;
            let body = self.packed.get(..n).unwrap_or_default();
            (u32::try_from(n).map_err(|_| too_big())?, body)
        } else {
            (0, self.block.as_slice())
        };
        let mut head = [0u8; 8];
        head[..4].copy_from_slice(&raw.to_le_bytes());
        head[4..].copy_from_slice(&packed.to_le_bytes());
        self.out.write_all(&head)?;
        self.out.write_all(body)?;
        self.block.clear();
        Ok(())
    }

    fn finish(mut self) -> io::Result<Run> {
        if !self.block.is_empty() {
            self.flush_block()?;
        }
        Ok(Run {
            temp: self.temp,
            level: self.level,
            last: self.last,
        })
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

/// Reads one run back through a handle of its own, a block at a time, an item at a time.
struct RunReader {
    file: File,
    packed: Vec<u8>,
    block: Vec<u8>,
    /// Where the next item's head is in `block`, and where the current item lies.
    at: usize,
    item: Range<usize>,
}

impl RunReader {
    fn new(temp: &Temp) -> io::Result<RunReader> {
        Ok(RunReader {
            file: File::open(&temp.path)?,
            packed: Vec::new(),
            block: Vec::new(),
            at: 0,
            item: 0..0,
        })
    }

    /// The item the last [`RunReader::next`] read.
    fn item(&self) -> &[u8] {
        self.block.get(self.item.clone()).unwrap_or_default()
    }

    /// Reads the next item; its key and arrival, or `None` at the end of the run.
    fn next(&mut self) -> io::Result<Option<(Key, u64)>> {
        if self.at >= self.block.len() && !self.read_block()? {
            return Ok(None);
        }
        let head = self.block.get(self.at..self.at + 32).ok_or_else(damaged)?;
        let word = |i: usize| {
            u64::from_le_bytes(head[i * 8..i * 8 + 8].try_into().expect("8 of 32 bytes"))
        };
        let (k0, k1, seq, len) = (word(0), word(1), word(2), word(3));
        let start = self.at + 32;
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| start.checked_add(len))
            .filter(|&end| end <= self.block.len())
            .ok_or_else(damaged)?;
        self.item = start..end;
        self.at = end;
        Ok(Some(((k0, k1), seq)))
    }

    /// Reads and unpacks the next block; false at the end of the run.
    fn read_block(&mut self) -> io::Result<bool> {
        let mut head = [0u8; 8];
        match self.file.read_exact(&mut head) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
            r => r?,
        }
        let raw = u32::from_le_bytes(head[..4].try_into().expect("4 of 8 bytes")) as usize;
        let packed = u32::from_le_bytes(head[4..].try_into().expect("4 of 8 bytes")) as usize;
        self.block.resize(raw, 0);
        self.at = 0;
        if packed == 0 {
            self.file.read_exact(&mut self.block)?;
            return Ok(true);
        }
        self.packed.resize(packed, 0);
        self.file.read_exact(&mut self.packed)?;
        let n = lz4_flex::block::decompress_into(&self.packed, &mut self.block)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        if n != raw {
            return Err(damaged());
        }
        Ok(true)
    }
}

/// A run file whose blocks or items do not add up.
fn damaged() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "a damaged spool block")
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
        // Compressed after the first 1 MiB written: raw blocks and LZ4 blocks both come back.
        let mut s = Spool::new(BUDGET, FAN_IN, 1 << 20);
        // Far more than the budget, in a scrambled order.
        let n: u64 = 40_000;
        for i in 0..n {
            let k = (i * 7919) % n;
            s.push((k / 10, k % 10), vec![(k % 251) as u8; 200]);
        }
        assert!(!s.runs.is_empty(), "it spilled");
        let paths: Vec<PathBuf> = s.runs.iter().map(|r| r.temp.path.clone()).collect();
        let out = drained(s);
        assert_eq!(out.len(), n as usize);
        for (k, item) in out.iter().enumerate() {
            assert_eq!(item, &vec![(k as u64 % 251) as u8; 200]);
        }
        assert!(paths.iter().all(|p| !p.exists()), "the run files are gone");
    }

    #[test]
    fn full_levels_merge_into_one_run_so_runs_stay_few() {
        // Two items a run (half of what is in memory when it spills), merged 3 at a time, from keys
        // out of order: 1000 items make hundreds of runs, held as at most 2 per level.
        let mut s = Spool::new(4 * (8 + 32) - 1, 3, 2000);
        let n: u64 = 1000;
        for i in 0..n {
            let k = (i * 389) % n;
            s.push((k % 7, k), k.to_le_bytes().to_vec());
            assert!(
                s.runs.len() <= 2 * 7,
                "{} runs after {i} items",
                s.runs.len()
            );
        }
        let levels: Vec<u32> = s.runs.iter().map(|r| r.level).collect();
        assert!(levels.iter().any(|&l| l >= 4), "merged up: {levels:?}");
        assert!(levels.windows(2).all(|w| w[0] >= w[1]), "{levels:?}");
        let out: Vec<u64> = drained(s)
            .iter()
            .map(|b| u64::from_le_bytes(b[..].try_into().expect("8 bytes")))
            .collect();
        let mut want: Vec<u64> = (0..n).collect();
        want.sort_by_key(|&k| (k % 7, k));
        assert_eq!(out, want);
    }

    #[test]
    fn items_nearly_in_order_make_one_run_and_a_late_one_starts_another() {
        // Each item at most 5 places late, with 20 items held back at a spill: one run however many.
        let mut s = Spool::new(40 * (8 + 32), 32, 0);
        let n: u64 = 10_000;
        let key = |i: u64| if i % 10 == 3 { i + 5 } else { i };
        for i in 0..n {
            s.push((key(i), 0), key(i).to_le_bytes().to_vec());
        }
        assert_eq!(s.runs.len(), 1, "appended to one run");
        // An item before everything already written starts a run of its own at the next spill.
        s.push((0, 0), vec![0; 8]);
        for i in n..n + 100 {
            s.push((i + 5, 0), (i + 5).to_le_bytes().to_vec());
        }
        assert_eq!(s.runs.len(), 2, "a second run for the late item");
        let out: Vec<u64> = drained(s)
            .iter()
            .map(|b| u64::from_le_bytes(b[..].try_into().expect("8 bytes")))
            .collect();
        let mut want: Vec<u64> = (0..n).map(key).chain([0]).chain(n + 5..n + 105).collect();
        want.sort_unstable();
        assert_eq!(out, want);
    }

    #[test]
    fn runs_past_the_threshold_are_compressed_and_read_back_whole() {
        let item =
            |i: u64| format!("{{\n      \"index\": {i},\n      \"state\": \"answered\"\n    }}");
        let mut s = Spool::new(64 << 10, FAN_IN, 0);
        let n: u64 = 20_000;
        for i in 0..n {
            s.push((i, 0), item(i).into_bytes());
        }
        assert_eq!(s.runs.len(), 1);
        let on_disk = s.runs[0].temp.file.metadata().expect("a run file").len();
        assert!(
            on_disk * 4 < s.written,
            "{on_disk} bytes on disk for {} written",
            s.written
        );
        let out = drained(s);
        assert_eq!(out.len(), n as usize);
        for (i, got) in out.iter().enumerate() {
            assert_eq!(got, item(i as u64).as_bytes());
        }
    }
}
