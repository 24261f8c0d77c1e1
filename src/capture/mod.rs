//! Capture files: open, recognise the container, and walk its packet records in byte ranges.
//!
//! Takes a path (or bytes read from stdin), produces [`Frame`]s that borrow the file's bytes.
//! Files are memory-mapped ([`memmap2`]); gzip-compressed files and pipes are read into memory instead.
//! Containers: classic pcap (both byte orders, microsecond and nanosecond timestamps) and pcapng
//! (several sections, interfaces with their own link type and `if_tsresol`/`if_tsoffset`, enhanced,
//! simple and obsolete packet blocks), parsed record by record with `pcap-parser`; Microsoft Network
//! Monitor 2.x (`netmon`, read here: `pcap-parser` does not know it).
//!
//! The unit of work is a byte range of the file (a chunk): [`CaptureFile::read_chunk`] finds the first
//! record that starts in the range (resynchronising on a plausible record header confirmed by the
//! headers that follow it) and reads every record that starts in the range.
//! Resynchronisation is a guess; the pipeline checks it against where the previous chunk really ended
//! and re-reads a chunk from the true offset when they differ, so the result is exact.
//!
//! This module does not decode packet contents (see `decode`) and does not number frames: frame
//! numbers are given in capture order when chunks are merged.
//! Only capture-level failures are errors ([`OpenError`]); a bad record mid-file is a [`Warning`] and
//! reading goes on after it.

mod netmon;
mod pcap;
mod pcapng;
pub mod write;

pub use netmon::NETMON_LINK;

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::path::Path;

/// One captured packet, borrowed from the capture file.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// Capture timestamp, nanoseconds since the Unix epoch (UTC).
    pub ts_ns: i64,
    /// The pcap LINKTYPE of `data`, or [`NETMON_LINK`] plus the media type for a NetMon frame
    /// that has none.
    pub link_type: u32,
    /// The captured bytes (possibly fewer than `orig_len` when the snaplen cut the packet).
    pub data: &'a [u8],
    /// The packet's length on the wire.
    pub orig_len: u32,
}

impl Frame<'_> {
    /// Whether the snapshot length cut this packet short.
    pub fn truncated(&self) -> bool {
        (self.data.len() as u64) < u64::from(self.orig_len)
    }
}

/// The container format of a capture file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Classic libpcap format.
    Pcap {
        /// Header fields are big-endian.
        big_endian: bool,
        /// Timestamps carry nanoseconds (magic `a1b23c4d`) rather than microseconds.
        nanos: bool,
        /// The file's single link type.
        link_type: u32,
        /// The snapshot length from the file header.
        snaplen: u32,
    },
    /// pcapng.
    PcapNg,
    /// Microsoft Network Monitor 2.x.
    NetMon(netmon::Header),
}

impl Format {
    /// The name shown in reports: `pcap`, `pcap-ns`, `pcapng` or `netmon2` (editcap's names).
    pub fn name(&self) -> &'static str {
        match self {
            Format::Pcap { nanos: false, .. } => "pcap",
            Format::Pcap { nanos: true, .. } => "pcap-ns",
            Format::PcapNg => "pcapng",
            Format::NetMon(_) => "netmon2",
        }
    }
}

/// Why a file cannot be analysed at all.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The file could not be opened or read.
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    /// The file holds no bytes.
    #[error("the file is empty")]
    Empty,
    /// A known capture format that callscope does not read.
    #[error("unsupported capture format: {0} (convert it with `editcap -F pcapng IN OUT`)")]
    Unsupported(&'static str),
    /// Neither pcap nor pcapng, nor a known other format.
    #[error("not a pcap or pcapng capture (the file starts with {0})")]
    NotACapture(String),
    /// The file header itself is cut short or invalid.
    #[error("the capture file header is invalid: {0}")]
    BadHeader(String),
}

/// A problem inside a capture that did not stop the analysis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// Byte offset in the (decompressed) file where the problem is.
    pub offset: u64,
    /// What is wrong, in plain words.
    pub message: String,
}

/// The bytes of a capture: a read-only map of the file, or an owned buffer (gzip, stdin).
enum Bytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Bytes {
    fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Mapped(map) => map,
            Bytes::Owned(vec) => vec,
        }
    }
}

/// The latest frame time callscope keeps: the end of pcap's 32-bit seconds (2106-02-07).
pub const MAX_TS_NS: i64 = u32::MAX as i64 * 1_000_000_000 + 999_999_999;

/// Largest decompressed size of a gzip-compressed capture; beyond it the rest is not read (a warning says so).
pub const GZIP_LIMIT: u64 = 8 << 30;

/// An opened capture file.
pub struct CaptureFile {
    /// The path as the user gave it (`-` for standard input).
    pub path: String,
    /// The container format.
    pub format: Format,
    /// Whether the file was gzip-compressed.
    pub gzip: bool,
    /// Problems found while opening (e.g. a gzip stream cut short).
    pub open_warnings: Vec<Warning>,
    /// TLS key logs (NSS format) of the pcapng Decryption Secrets Blocks before the first packet.
    /// Secrets: never printed (not in `Debug`).
    pub tls_key_logs: Vec<Vec<u8>>,
    bytes: Bytes,
    /// Where the first record may start, and the reading state there.
    first: (usize, State),
    /// The state assumed where a chunk resynchronises: the file's first section after its header blocks.
    resync_state: State,
}

impl fmt::Debug for CaptureFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaptureFile")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("len", &self.len())
            .finish()
    }
}

/// What a reader needs to know to interpret the records from some offset on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// Classic pcap: everything is in the file header.
    Pcap,
    /// pcapng: the current section's byte order and interfaces.
    PcapNg(pcapng::Section),
    /// NetMon: the index of the next frame-table entry.
    NetMon(usize),
}

/// Where a chunk starts reading.
#[derive(Clone, Debug)]
pub enum Start {
    /// At a known record boundary, in a known state.
    At(usize, State),
    /// Somewhere in the range: find the first record by resynchronisation, assume the state of the
    /// file's first section.
    Resync,
}

/// The outcome of reading one chunk.
#[derive(Clone, Debug)]
pub struct ChunkRead {
    /// Offset of the first record read, and the state assumed there (`None`: no record starts in the range).
    pub began: Option<(usize, State)>,
    /// Offset where the next record starts (at or after the range's end), or the file's end.
    pub next: usize,
    /// The reading state at `next`.
    pub end_state: State,
    /// Problems met in the range.
    pub warnings: Vec<Warning>,
}

impl CaptureFile {
    /// Opens a capture file (`-` reads standard input), memory-mapping it when possible.
    pub fn open(path: &Path) -> Result<CaptureFile, OpenError> {
        let shown = path.display().to_string();
        if shown == "-" {
            let mut buf = Vec::new();
            std::io::stdin().lock().read_to_end(&mut buf)?;
            return CaptureFile::from_bytes(shown, buf);
        }
        let file = File::open(path)?;
        let meta = file.metadata()?;
        if meta.is_file() && meta.len() > 0 {
            // SAFETY: the map is read-only and private to this process. If another process truncates
            // or rewrites the file while we read it, reads may see changed bytes or fault with SIGBUS;
            // that is the documented risk of memory-mapping a file being written (see README), taken
            // for the speed of reading large captures without copying.
            #[allow(unsafe_code)]
            let map = unsafe { memmap2::Mmap::map(&file)? };
            #[cfg(unix)]
            {
                // The hint only tunes read-ahead; ignoring its failure is harmless.
                let _ = map.advise(memmap2::Advice::Sequential);
            }
            return CaptureFile::from_source(shown, Bytes::Mapped(map));
        }
        let mut buf = Vec::new();
        (&file).read_to_end(&mut buf)?;
        CaptureFile::from_bytes(shown, buf)
    }

    /// Makes a capture from bytes already in memory (stdin, tests, fuzzing).
    pub fn from_bytes(path: String, bytes: Vec<u8>) -> Result<CaptureFile, OpenError> {
        CaptureFile::from_source(path, Bytes::Owned(bytes))
    }

    fn from_source(path: String, bytes: Bytes) -> Result<CaptureFile, OpenError> {
        let raw = bytes.as_slice();
        if raw.is_empty() {
            return Err(OpenError::Empty);
        }
        let (bytes, gzip, open_warnings) = if raw.starts_with(&[0x1f, 0x8b]) {
            let (out, warnings) = gunzip(raw, GZIP_LIMIT);
            if out.is_empty() {
                return Err(OpenError::BadHeader(
                    warnings
                        .first()
                        .map(|w| w.message.clone())
                        .unwrap_or_else(|| "gzip stream holds no data".to_string()),
                ));
            }
            (Bytes::Owned(out), true, warnings)
        } else {
            (bytes, false, Vec::new())
        };
        let data = bytes.as_slice();
        let Detected {
            format,
            first,
            resync_state,
            warnings,
            tls_key_logs,
        } = detect(data)?;
        let mut open_warnings = open_warnings;
        open_warnings.extend(warnings);
        Ok(CaptureFile {
            path,
            format,
            gzip,
            open_warnings,
            tls_key_logs,
            bytes,
            first,
            resync_state,
        })
    }

    /// The (decompressed) file bytes.
    pub fn bytes(&self) -> &[u8] {
        self.bytes.as_slice()
    }

    /// Length of the (decompressed) file in bytes.
    pub fn len(&self) -> usize {
        self.bytes().len()
    }

    /// Whether the file holds no records at all.
    pub fn is_empty(&self) -> bool {
        self.first.0 >= self.len()
    }

    /// Splits the records area into byte ranges of about `size` bytes (one range for a NetMon
    /// file whose frames are not in file order: it is read in frame-table order).
    pub fn chunks(&self, size: usize) -> Vec<Range<usize>> {
        let size = match self.format {
            Format::NetMon(h) if !h.splittable() => usize::MAX,
            _ => size.max(64),
        };
        let (mut at, end) = (self.first.0, self.len());
        let mut out = Vec::with_capacity((end.saturating_sub(at)) / size + 1);
        while at < end {
            let stop = at.saturating_add(size).min(end);
            out.push(at..stop);
            at = stop;
        }
        out
    }

    /// Where the first record may start and the state there.
    pub fn first(&self) -> (usize, State) {
        self.first.clone()
    }

    /// Reads every record that starts in `range`, calling `visit` for each packet in file order.
    ///
    /// Never panics and always terminates: a bad record is reported and skipped by resynchronising on
    /// the next plausible record header.
    pub fn read_chunk(
        &self,
        range: Range<usize>,
        start: Start,
        visit: &mut dyn FnMut(Frame<'_>),
    ) -> ChunkRead {
        let data = self.bytes();
        let (at, state) = match start {
            Start::At(at, state) => (Some(at), state),
            Start::Resync => (None, self.resync_state.clone()),
        };
        // Times outside what a pcap file can hold (NetMon's 64-bit deltas and FILETIMEs, pcapng's
        // 64-bit stamps and offsets) are clamped into it, so that time arithmetic downstream never
        // overflows; a warning counts them.
        let mut clamped = 0u64;
        let mut first_clamped = None;
        let visit = &mut |mut frame: Frame<'_>| {
            if !(0..=MAX_TS_NS).contains(&frame.ts_ns) {
                frame.ts_ns = frame.ts_ns.clamp(0, MAX_TS_NS);
                clamped += 1;
                first_clamped.get_or_insert(frame.ts_ns);
            }
            visit(frame)
        };
        let mut read = self.read_records(data, range, at, state, visit);
        if clamped > 0 {
            read.warnings.push(Warning {
                offset: read.began.as_ref().map_or(0, |b| b.0 as u64),
                message: format!(
                    "{clamped} frame times outside 1970–2106 (what pcap can hold) were clamped into it"
                ),
            });
        }
        read
    }

    fn read_records(
        &self,
        data: &[u8],
        range: Range<usize>,
        at: Option<usize>,
        state: State,
        visit: &mut dyn FnMut(Frame<'_>),
    ) -> ChunkRead {
        match (self.format, state) {
            (Format::Pcap { .. }, _) => pcap::read(data, self.format, range, at, visit),
            (Format::PcapNg, State::PcapNg(section)) => {
                pcapng::read(data, range, at, section, visit)
            }
            (Format::NetMon(header), State::NetMon(index)) => {
                netmon::read(data, &header, range, at.map(|at| (at, index)), visit)
            }
            (Format::PcapNg | Format::NetMon(_), _) => ChunkRead {
                began: None,
                next: range.end,
                end_state: State::Pcap,
                warnings: vec![Warning {
                    offset: range.start as u64,
                    message: "internal: read with the state of another format".to_string(),
                }],
            },
        }
    }
}

/// What recognising a file found.
struct Detected {
    format: Format,
    /// Where the first record starts and the state there.
    first: (usize, State),
    /// The state a resynchronising chunk assumes.
    resync_state: State,
    /// Problems met in the file header.
    warnings: Vec<Warning>,
    /// TLS key logs of the pcapng header blocks (Decryption Secrets Blocks).
    tls_key_logs: Vec<Vec<u8>>,
}

/// Recognises the container from the first bytes and prepares reading.
fn detect(data: &[u8]) -> Result<Detected, OpenError> {
    if data.len() >= 4 && data[..4] == [0x0a, 0x0d, 0x0d, 0x0a] {
        let header = pcapng::first_section(data).map_err(OpenError::BadHeader)?;
        return Ok(Detected {
            format: Format::PcapNg,
            first: (0, State::PcapNg(header.at_start)),
            resync_state: State::PcapNg(header.after),
            warnings: Vec::new(),
            tls_key_logs: header.tls_key_logs,
        });
    }
    if data.starts_with(b"GMBU") {
        let (header, warnings) = netmon::header(data).map_err(OpenError::BadHeader)?;
        return Ok(Detected {
            format: Format::NetMon(header),
            first: header.first(data),
            resync_state: State::NetMon(0),
            warnings,
            tls_key_logs: Vec::new(),
        });
    }
    if data.len() >= 4 {
        let magic = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
        if matches!(magic, 0xa1b2_c3d4 | 0xa1b2_3c4d | 0xd4c3_b2a1 | 0x4d3c_b2a1) {
            let format = pcap::header(data).map_err(OpenError::BadHeader)?;
            return Ok(Detected {
                format,
                first: (pcap::HEADER_LEN, State::Pcap),
                resync_state: State::Pcap,
                warnings: Vec::new(),
                tls_key_logs: Vec::new(),
            });
        }
        if magic == 0xa1b2_cd34 || magic == 0x34cd_b2a1 {
            return Err(OpenError::Unsupported("modified (Kuznetzov) pcap"));
        }
    }
    let known: &[(&[u8], &'static str)] = &[
        (b"RTSS", "Microsoft Network Monitor 1.x"),
        (b"XCP\0", "Network General Sniffer (Windows)"),
        (b"TRSNIFF data", "Network General Sniffer (DOS)"),
        (b"snoop\0\0\0", "Sun snoop"),
        (b"BTSNOOP\0", "btsnoop"),
        (b"\x1f\x8b", "gzip data that is not a capture"),
    ];
    for (magic, name) in known {
        if data.starts_with(magic) {
            return Err(OpenError::Unsupported(name));
        }
    }
    let head: String = data
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ");
    Err(OpenError::NotACapture(head))
}

/// Decompresses gzip data (several members allowed), keeping what was read when the stream is cut short.
fn gunzip(raw: &[u8], limit: u64) -> (Vec<u8>, Vec<Warning>) {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    let decoder = flate2::read::MultiGzDecoder::new(raw);
    let mut limited = decoder.take(limit);
    if let Err(err) = limited.read_to_end(&mut out) {
        warnings.push(Warning {
            offset: out.len() as u64,
            message: format!(
                "gzip stream is damaged or cut short after {} decompressed bytes ({err}); the rest is not read",
                out.len()
            ),
        });
    } else if out.len() as u64 >= limit {
        warnings.push(Warning {
            offset: out.len() as u64,
            message: format!(
                "gzip data larger than {limit} bytes when decompressed; the rest is not read"
            ),
        });
    }
    (out, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_unknown_inputs_are_open_errors() {
        assert!(matches!(
            CaptureFile::from_bytes("x".into(), vec![]),
            Err(OpenError::Empty)
        ));
        assert!(matches!(
            CaptureFile::from_bytes("x".into(), b"hello world".to_vec()),
            Err(OpenError::NotACapture(_))
        ));
        assert!(matches!(
            CaptureFile::from_bytes("x".into(), b"RTSS\0\x01".to_vec()),
            Err(OpenError::Unsupported("Microsoft Network Monitor 1.x"))
        ));
        assert!(matches!(
            CaptureFile::from_bytes("x".into(), b"GMBU\0\x02".to_vec()),
            Err(OpenError::BadHeader(_))
        ));
        // A pcap magic followed by a cut header.
        assert!(matches!(
            CaptureFile::from_bytes("x".into(), vec![0xd4, 0xc3, 0xb2, 0xa1, 2]),
            Err(OpenError::BadHeader(_))
        ));
    }

    #[test]
    fn gzip_cut_short_keeps_what_was_read() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let payload: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
        enc.write_all(&payload).expect("write to a Vec");
        let gz = enc.finish().expect("finish a Vec");
        let (out, warnings) = gunzip(&gz[..gz.len() / 2], GZIP_LIMIT);
        assert!(!out.is_empty() && out.len() < payload.len());
        assert_eq!(out[..], payload[..out.len()]);
        assert_eq!(warnings.len(), 1);
        let (out, warnings) = gunzip(&gz, 1000);
        assert_eq!(out.len(), 1000);
        assert!(warnings[0].message.contains("larger than 1000"));
    }
}
