//! Microsoft Network Monitor 2.x files (`.cap`, magic `GMBU`), versions 2.0 to 2.3.
//!
//! Layout (little-endian), as the Network Monitor 3.x help documents it and Wireshark reads it
//! (wiretap/netmon.c is the reference for behaviour; this is an independent implementation):
//! a file header (magic, minor and major version, the media type, the capture start as a Windows
//! `SYSTEMTIME`, then offsets and lengths of the frame table and other tables), the frames, and a
//! frame table of 32-bit file offsets, one per frame, in capture order. A frame is a 16-byte
//! header (microseconds since the capture start, wire length, captured length), the captured
//! bytes, and from version 2.1 a trailer: the frame's media type (2.1), a process-table index
//! (2.2), and a UTC `FILETIME` with a time-zone index (2.3).
//!
//! Frames are numbered in frame-table order, as Wireshark numbers them. Three kinds of NetMon
//! records are not frames in Wireshark (payload headers of reassembled frames, network info, DNS
//! cache): they are skipped and counted in a warning. Its other records (ETW events with process
//! and conversation data, adapter lists, filter strings) are frames there and here, with a link
//! type of their own above [`NETMON_LINK`] that `decode` names and does not analyse.
//! NetMon's 802.11 capture header is capture metadata: it is stripped and the 802.11 frame behind
//! it is given as `LINKTYPE_IEEE802_11`, so an extracted call is an ordinary pcap (its captured
//! length is then the header's length shorter than Wireshark's).
//!
//! Chunks: when the frame table lists frames in file order (as NetMon and editcap write it), a
//! byte range holds the frames whose offsets fall in it, found by binary search in the table:
//! exact, no resynchronisation. A table out of file order is read in one piece, in table order.
//! A file without a usable table (cut before it) is walked record by record from the header.
//! Times: 2.0–2.2 give the start in the capturing machine's local time, which the file does not
//! name; it is read as UTC (Wireshark reads it in the reading machine's zone). 2.3 frames carry UTC.

use std::ops::Range;

use super::{ChunkRead, Frame, State, Warning};

/// Link types of frames without a pcap LINKTYPE: `NETMON_LINK + media type` (pcap and pcapng link
/// types are 16-bit, so these never collide with one).
pub const NETMON_LINK: u32 = 0x1_0000;
/// Length of the fixed part of the file header that is read.
const HEADER: usize = 64;
/// The file header is padded to this length; frames without a table are looked for after it.
const PADDED_HEADER: usize = 128;
/// Length of a frame's header.
const RECORD_HEADER: usize = 16;
/// Frames claiming more captured bytes than this are taken as damage (as in the pcap reader).
const MAX_CAPLEN: u32 = 16 << 20;
/// 100-ns intervals between 1601-01-01 (FILETIME's epoch) and 1970-01-01.
const FILETIME_UNIX: i64 = 116_444_736_000_000_000;
/// `LINKTYPE_ETHERNET`, `LINKTYPE_RAW`, `LINKTYPE_IEEE802_11`.
const ETHERNET: u32 = 1;
const RAW_IP: u32 = 101;
const IEEE802_11: u32 = 105;

/// What a NetMon file's header says, for reading its frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Format version 2.`minor`.
    pub minor: u8,
    /// The file header's media type (the frames' media in 2.0; 1 by convention from 2.1).
    media: u16,
    /// The capture start (ns since the Unix epoch, UTC).
    start_ns: i64,
    frames: Frames,
}

/// Where the frames are found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Frames {
    /// The frame table: where its entries start and how many are in the file; `in_order` when each
    /// frame's offset is at or after the previous one's.
    Table {
        at: usize,
        entries: usize,
        in_order: bool,
    },
    /// No usable table: records one after the other from the end of the file header.
    Walk,
}

fn le16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        data.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn le32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        data.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn le64(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        data.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// Days from 1970-01-01 to a proleptic Gregorian date (the civil-from-days inverse).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The capture start: a `SYSTEMTIME` (year, month, day of week, day, hour, minute, second,
/// millisecond, 16 bits each) read as UTC; out-of-range fields are clamped, not refused.
fn start_ns(data: &[u8]) -> i64 {
    let f = |i: usize| i64::from(le16(data, 8 + 2 * i).unwrap_or(0));
    let days = days_from_civil(f(0), f(1).clamp(1, 12), f(3).clamp(1, 31));
    let secs = days * 86_400 + f(4).min(23) * 3600 + f(5).min(59) * 60 + f(6).min(59);
    // Years outside 1677..2262 do not fit in i64 nanoseconds: they saturate.
    secs.saturating_mul(1_000_000_000)
        .saturating_add(f(7).min(999) * 1_000_000)
}

/// Reads the file header; `Err` says why the file cannot be read at all.
pub(super) fn header(data: &[u8]) -> Result<(Header, Vec<Warning>), String> {
    if data.len() < HEADER {
        return Err(format!(
            "NetMon 2.x file header needs {HEADER} bytes, the file has {}",
            data.len()
        ));
    }
    let (minor, major) = (data[4], data[5]);
    if major != 2 {
        return Err(format!(
            "NetMon major version {major} (only 2.x files are read)"
        ));
    }
    let mut warnings = Vec::new();
    let table_at = le32(data, 24).unwrap_or(0) as usize;
    let table_len = le32(data, 28).unwrap_or(0) as usize;
    if !table_len.is_multiple_of(4) {
        warnings.push(Warning {
            offset: 28,
            message: format!(
                "the NetMon frame table length {table_len} is not a multiple of 4; its last partial entry is ignored"
            ),
        });
    }
    let frames = if table_len >= 4 && table_at >= HEADER && table_at < data.len() {
        let present = (data.len() - table_at) / 4;
        let entries = (table_len / 4).min(present);
        if entries < table_len / 4 {
            warnings.push(Warning {
                offset: table_at as u64,
                message: format!(
                    "the NetMon frame table is cut short: {entries} of {} entries are in the file (truncated capture)",
                    table_len / 4
                ),
            });
        }
        let offset = |i: usize| le32(data, table_at + 4 * i).unwrap_or(0);
        let in_order = (1..entries).all(|i| offset(i) >= offset(i - 1));
        // Read in order, frames past the end are never reached: say so once.
        let past_end = (0..entries)
            .filter(|&i| offset(i) as usize >= data.len())
            .count();
        if in_order && past_end > 0 {
            warnings.push(Warning {
                offset: table_at as u64,
                message: format!(
                    "{past_end} of the {entries} frames in the NetMon frame table start past the end of the file (truncated capture): they are not read"
                ),
            });
        }
        Frames::Table {
            at: table_at,
            entries,
            in_order,
        }
    } else if table_len == 0 && table_at == 0 {
        // An empty table: Wireshark refuses such a file; callscope reads it as a capture of no
        // frames, unless frames follow the header (a capture closed before its table was written).
        if data.len() > PADDED_HEADER {
            warnings.push(frameless(data.len()));
            Frames::Walk
        } else {
            Frames::Table {
                at: 0,
                entries: 0,
                in_order: true,
            }
        }
    } else {
        warnings.push(frameless(data.len()));
        Frames::Walk
    };
    Ok((
        Header {
            minor,
            media: le16(data, 6).unwrap_or(0),
            start_ns: start_ns(data),
            frames,
        },
        warnings,
    ))
}

fn frameless(len: usize) -> Warning {
    Warning {
        offset: 24,
        message: format!(
            "the NetMon frame table is missing or outside the file ({len} bytes; capture cut short?): frames are read one after the other from the header"
        ),
    }
}

impl Header {
    /// Where the first frame starts and the reading state there.
    pub(super) fn first(&self, data: &[u8]) -> (usize, State) {
        let at = match self.frames {
            Frames::Table {
                at,
                entries,
                in_order: true,
            } => {
                if entries == 0 {
                    data.len()
                } else {
                    (le32(data, at).unwrap_or(0) as usize).min(data.len())
                }
            }
            Frames::Table { .. } | Frames::Walk => PADDED_HEADER.min(data.len()),
        };
        (at, State::NetMon(0))
    }

    /// Whether byte ranges can be read independently (frames in file order).
    pub(super) fn splittable(&self) -> bool {
        matches!(self.frames, Frames::Table { in_order: true, .. })
    }

    /// Bytes after each frame's data.
    fn trailer(&self) -> usize {
        match self.minor {
            0 => 0,
            1 => 2,
            2 => 6,
            _ => 15,
        }
    }

    fn entry(&self, data: &[u8], i: usize) -> Option<usize> {
        match self.frames {
            Frames::Table { at, entries, .. } if i < entries => {
                le32(data, at + 4 * i).map(|o| o as usize)
            }
            _ => None,
        }
    }
}

/// What a record held.
enum Record<'a> {
    /// A frame (numbered).
    Frame(Frame<'a>),
    /// A NetMon record that Wireshark does not number.
    Skipped,
}

/// The link type a NetMon media type maps to; `None` for records that are no frames.
fn link_type(media: u16) -> Option<u32> {
    Some(match media {
        // 0 is Ethernet too: NetMon 3.4 VPN captures have media 0 on Ethernet frames.
        0 | 1 => ETHERNET,
        // "Tunneling interfaces", "Wireless WAN", "Raw IP frames".
        7..=9 => RAW_IP,
        // Microsoft Message Analyzer's "WiFi message": a bare 802.11 frame.
        0xE080 => IEEE802_11,
        // A frame converted from pcap: the LINKTYPE is in the low 12 bits.
        m if m & 0xF000 == 0xE000 && m < 0xE080 => u32::from(m & 0x0FFF),
        // Payload header of a reassembled frame, network info, DNS cache.
        0xFFFC..=0xFFFE => return None,
        other => NETMON_LINK + u32::from(other),
    })
}

/// Parses the record at `off`; `Err` says why it cannot be read.
fn record<'a>(h: &Header, data: &'a [u8], off: usize) -> Result<(Record<'a>, usize), String> {
    let left = data.len().saturating_sub(off);
    let (Some(delta), Some(orig_len), Some(caplen)) =
        (le64(data, off), le32(data, off + 8), le32(data, off + 12))
    else {
        return Err(format!(
            "the file ends inside a frame header ({left} bytes left)"
        ));
    };
    if caplen > MAX_CAPLEN {
        return Err(format!(
            "frame claims {caplen} captured bytes (limit {MAX_CAPLEN}): damaged"
        ));
    }
    let body = off + RECORD_HEADER;
    let need = RECORD_HEADER + caplen as usize + h.trailer();
    if need > left {
        return Err(format!(
            "the frame is cut short: it needs {need} bytes, the file has {left} (truncated capture)"
        ));
    }
    let bytes = &data[body..body + caplen as usize];
    let trailer = body + caplen as usize;
    let media = if h.minor == 0 {
        h.media
    } else {
        le16(data, trailer).unwrap_or(0)
    };
    // The delta is documented as unsigned microseconds, but frames may precede the nominal start:
    // like Wireshark, read it times 10 as a signed count of 100 ns.
    let delta_ns = (delta.wrapping_mul(10) as i64).saturating_mul(100);
    let ts_ns = match le64(data, trailer + 6) {
        Some(filetime) if h.minor >= 3 => {
            (i64::try_from(filetime).unwrap_or(i64::MAX) - FILETIME_UNIX).saturating_mul(100)
        }
        _ => h.start_ns.saturating_add(delta_ns),
    };
    let Some(link_type) = link_type(media) else {
        return Ok((Record::Skipped, need));
    };
    let (link_type, bytes, orig_len) = if media == 6 {
        // NetMon's 802.11 capture header: version, then its own length (16 bits) at byte 1.
        let meta = usize::from(le16(bytes, 1).unwrap_or(0)).min(bytes.len());
        let orig = orig_len.saturating_sub(meta as u32);
        (IEEE802_11, &bytes[meta..], orig)
    } else {
        (link_type, bytes, orig_len)
    };
    Ok((
        Record::Frame(Frame {
            ts_ns,
            link_type,
            data: bytes,
            orig_len: orig_len.max(bytes.len() as u32),
        }),
        need,
    ))
}

/// What one read collected besides frames.
struct Reading {
    warnings: Vec<Warning>,
    skipped: u64,
    /// Where the first skipped record is.
    first_skipped: usize,
}

impl Reading {
    /// Visits the record at `off`; returns its length when it could be read.
    fn visit(
        &mut self,
        h: &Header,
        data: &[u8],
        off: usize,
        visit: &mut dyn FnMut(Frame<'_>),
    ) -> Option<usize> {
        match record(h, data, off) {
            Ok((Record::Frame(frame), len)) => {
                visit(frame);
                Some(len)
            }
            Ok((Record::Skipped, len)) => {
                if self.skipped == 0 {
                    self.first_skipped = off;
                }
                self.skipped += 1;
                Some(len)
            }
            Err(message) => {
                self.warnings.push(Warning {
                    offset: off as u64,
                    message,
                });
                None
            }
        }
    }

    fn finish(mut self, began: Option<(usize, State)>, next: usize, index: usize) -> ChunkRead {
        if self.skipped > 0 {
            self.warnings.push(Warning {
                offset: self.first_skipped as u64,
                message: format!(
                    "{} NetMon records (payload headers, network info, DNS cache) skipped: they are not frames, Wireshark does not number them either",
                    self.skipped
                ),
            });
        }
        ChunkRead {
            began,
            next,
            end_state: State::NetMon(index),
            warnings: self.warnings,
        }
    }
}

/// Reads the frames that start in `range` (see [`super::CaptureFile::read_chunk`]); `at` is the
/// known start (offset and frame-table index), `None` to find it in the table.
pub(super) fn read(
    data: &[u8],
    h: &Header,
    range: Range<usize>,
    at: Option<(usize, usize)>,
    visit: &mut dyn FnMut(Frame<'_>),
) -> ChunkRead {
    let mut reading = Reading {
        warnings: Vec::new(),
        skipped: 0,
        first_skipped: 0,
    };
    match h.frames {
        Frames::Table {
            entries,
            in_order: true,
            ..
        } => {
            let entry = |i: usize| h.entry(data, i).unwrap_or(usize::MAX);
            let (start, began) = match at {
                Some((off, i)) => (i, Some((off, State::NetMon(i)))),
                None => {
                    // The first frame at or after the range's start (offsets are sorted).
                    let (mut lo, mut hi) = (0, entries);
                    while lo < hi {
                        let mid = lo + (hi - lo) / 2;
                        if entry(mid) < range.start {
                            lo = mid + 1;
                        } else {
                            hi = mid;
                        }
                    }
                    let began = (lo < entries && entry(lo) < range.end)
                        .then(|| (entry(lo), State::NetMon(lo)));
                    if began.is_none() {
                        return reading.finish(None, range.end, lo);
                    }
                    (lo, began)
                }
            };
            let mut i = start;
            while i < entries && entry(i) < range.end {
                reading.visit(h, data, entry(i), visit);
                i += 1;
            }
            let next = if i < entries {
                entry(i).min(data.len())
            } else {
                data.len()
            };
            reading.finish(began, next, i)
        }
        Frames::Table { entries, .. } => {
            // Out of file order: the whole table in one read, from the known index (or from the
            // start when the range holds the first frame).
            let first = h.first(data).0;
            let start = match at {
                Some((_, i)) => i,
                None if range.contains(&first) => 0,
                None => return reading.finish(None, range.end, entries),
            };
            for i in start..entries {
                if let Some(off) = h.entry(data, i) {
                    reading.visit(h, data, off, visit);
                }
            }
            let began = Some((at.map_or(first, |a| a.0), State::NetMon(start)));
            reading.finish(began, data.len(), entries)
        }
        Frames::Walk => {
            let first = h.first(data).0;
            let (mut off, index) = match at {
                Some(a) => a,
                None if range.contains(&first) => (first, 0),
                None => return reading.finish(None, range.end, 0),
            };
            let began = Some((off, State::NetMon(index)));
            let mut n = index;
            while off < data.len() {
                match reading.visit(h, data, off, visit) {
                    Some(len) => {
                        off += len;
                        n += 1;
                    }
                    None => break,
                }
            }
            reading.finish(began, data.len(), n)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{CaptureFile, Format, OpenError, Start};
    use super::*;

    /// One frame to write: delta (µs), media type, bytes, UTC FILETIME (2.3).
    struct Spec<'a> {
        delta_us: u64,
        media: u16,
        bytes: &'a [u8],
        filetime: u64,
    }

    fn spec(delta_us: u64, media: u16, bytes: &[u8]) -> Spec<'_> {
        Spec {
            delta_us,
            media,
            bytes,
            filetime: 0,
        }
    }

    /// 2026-11-26 06:40:07.159 UTC, the start every test file has.
    const START: [u16; 8] = [2026, 11, 4, 26, 6, 40, 7, 159];
    const START_NS: i64 = 1_795_675_207_159_000_000;

    /// A NetMon 2.`minor` file of `frames`, stored in the file in `order` (indexes into `frames`)
    /// with the frame table in capture order.
    fn file(minor: u8, frames: &[Spec<'_>], order: &[usize]) -> Vec<u8> {
        let record = |f: &Spec<'_>| {
            let mut r = Vec::new();
            r.extend_from_slice(&f.delta_us.to_le_bytes());
            r.extend_from_slice(&(f.bytes.len() as u32 + 4).to_le_bytes());
            r.extend_from_slice(&(f.bytes.len() as u32).to_le_bytes());
            r.extend_from_slice(f.bytes);
            if minor >= 1 {
                r.extend_from_slice(&f.media.to_le_bytes());
            }
            if minor >= 2 {
                r.extend_from_slice(&[0; 4]);
            }
            if minor >= 3 {
                r.extend_from_slice(&f.filetime.to_le_bytes());
                r.push(0);
            }
            r
        };
        let mut out = vec![0u8; PADDED_HEADER];
        let mut offsets = vec![0u32; frames.len()];
        for &i in order {
            offsets[i] = out.len() as u32;
            out.extend(record(&frames[i]));
        }
        let table_at = out.len() as u32;
        for o in &offsets {
            out.extend_from_slice(&o.to_le_bytes());
        }
        out[..4].copy_from_slice(b"GMBU");
        out[4] = minor;
        out[5] = 2;
        let media = frames.first().map_or(1, |f| f.media);
        out[6..8].copy_from_slice(&media.to_le_bytes());
        for (i, v) in START.iter().enumerate() {
            out[8 + 2 * i..10 + 2 * i].copy_from_slice(&v.to_le_bytes());
        }
        out[24..28].copy_from_slice(&table_at.to_le_bytes());
        out[28..32].copy_from_slice(&(4 * frames.len() as u32).to_le_bytes());
        out
    }

    fn in_order(n: usize) -> Vec<usize> {
        (0..n).collect()
    }

    /// A frame read: time stamp, link type, bytes, wire length.
    type Read = (i64, u32, Vec<u8>, u32);

    /// Every frame of the file read from its start, and the warnings.
    fn read_all(bytes: Vec<u8>) -> (Vec<Read>, Vec<String>) {
        let file = CaptureFile::from_bytes("t.cap".into(), bytes).expect("a NetMon file");
        let (at, state) = file.first();
        let mut frames = Vec::new();
        let read = file.read_chunk(at..file.len(), Start::At(at, state), &mut |f| {
            frames.push((f.ts_ns, f.link_type, f.data.to_vec(), f.orig_len))
        });
        let mut warnings: Vec<String> = file
            .open_warnings
            .iter()
            .map(|w| w.message.clone())
            .collect();
        warnings.extend(read.warnings.into_iter().map(|w| w.message));
        (frames, warnings)
    }

    #[test]
    fn version_2_0_frames_have_the_file_media_and_start_plus_delta() {
        let f = file(
            0,
            &[spec(0, 1, b"first"), spec(1_500_250, 1, b"second")],
            &in_order(2),
        );
        let (frames, warnings) = read_all(f);
        assert_eq!(
            frames,
            vec![
                (START_NS, 1, b"first".to_vec(), 9),
                (START_NS + 1_500_250_000, 1, b"second".to_vec(), 10)
            ]
        );
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn per_frame_media_types_map_to_link_types() {
        let mut wifi = vec![2u8, 32, 0];
        wifi.resize(32, 0);
        wifi.extend_from_slice(b"dot11 frame");
        let frames = [
            spec(0, 0xFFE0, b"etw event"),
            spec(1, 1, b"ether"),
            spec(2, 9, b"raw ip"),
            spec(3, 6, &wifi),
            spec(4, 0xE000 | 113, b"sll"),
            spec(5, 0xFFFD, b"network info"),
            spec(6, 0xFFFE, b"dns cache"),
            spec(7, 0xFFFF, b"filter"),
            spec(8, 5, b"ip over 1394"),
        ];
        let (got, warnings) = read_all(file(1, &frames, &in_order(frames.len())));
        let links: Vec<u32> = got.iter().map(|f| f.1).collect();
        assert_eq!(
            links,
            [
                NETMON_LINK + 0xFFE0,
                ETHERNET,
                RAW_IP,
                IEEE802_11,
                113,
                NETMON_LINK + 0xFFFF,
                NETMON_LINK + 5
            ]
        );
        // The 802.11 capture header is stripped, from the wire length too.
        assert_eq!(
            (got[3].2.as_slice(), got[3].3),
            (&b"dot11 frame"[..], 47 - 32)
        );
        assert_eq!(
            warnings,
            ["2 NetMon records (payload headers, network info, DNS cache) skipped: they are not frames, Wireshark does not number them either"]
        );
    }

    #[test]
    fn version_2_3_takes_the_utc_time_stamp() {
        let mut late = spec(5_000_000, 1, b"x");
        // 2026-11-26 06:40:08.000000100 UTC as a FILETIME.
        late.filetime = (1_795_675_208_000_000_100 / 100 + FILETIME_UNIX) as u64;
        let (frames, _) = read_all(file(3, &[late], &[0]));
        assert_eq!(frames[0].0, 1_795_675_208_000_000_100);
        // 2.2 has no such time stamp: start plus delta.
        let (frames, _) = read_all(file(2, &[spec(5_000_000, 1, b"x")], &[0]));
        assert_eq!(frames[0].0, START_NS + 5_000_000_000);
    }

    #[test]
    fn times_pcap_cannot_hold_are_clamped_with_a_warning() {
        // A FILETIME of 0 is 1601; a delta of 2^58 µs is far past 2106.
        let frames = [spec(0, 1, b"1601"), spec(1 << 58, 1, b"future")];
        let (got, warnings) = read_all(file(3, &frames, &in_order(2)));
        assert_eq!((got[0].0, got[1].0), (0, 0));
        let (got, warnings2) = read_all(file(2, &frames, &in_order(2)));
        assert_eq!((got[0].0, got[1].0), (START_NS, super::super::MAX_TS_NS));
        assert_eq!(
            warnings,
            ["2 frame times outside 1970–2106 (what pcap can hold) were clamped into it"]
        );
        assert_eq!(
            warnings2,
            ["1 frame times outside 1970–2106 (what pcap can hold) were clamped into it"]
        );
    }

    #[test]
    fn a_delta_may_precede_the_start() {
        // Read as Wireshark does: the delta times 10 is a signed count of 100 ns, here -20006.
        let delta = (((1u128 << 64) - 20_006) / 10) as u64;
        let (frames, _) = read_all(file(0, &[spec(delta, 1, b"x")], &[0]));
        assert_eq!(frames[0].0, START_NS - 2_000_600);
    }

    #[test]
    fn the_start_time_is_read_as_utc() {
        let mut h = vec![0u8; 64];
        for (i, v) in START.iter().enumerate() {
            h[8 + 2 * i..10 + 2 * i].copy_from_slice(&v.to_le_bytes());
        }
        assert_eq!(start_ns(&h), START_NS);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1601, 1, 1), -134_774);
    }

    #[test]
    fn byte_ranges_hold_the_frames_that_start_in_them() {
        let frames: Vec<Vec<u8>> = (0..20u8).map(|i| vec![i; usize::from(i) * 7 + 1]).collect();
        let specs: Vec<Spec<'_>> = frames
            .iter()
            .enumerate()
            .map(|(i, b)| spec(i as u64, 1, b))
            .collect();
        let bytes = file(2, &specs, &in_order(specs.len()));
        let whole = read_all(bytes.clone()).0;
        let file = CaptureFile::from_bytes("t.cap".into(), bytes).expect("a NetMon file");
        assert!(matches!(file.format, Format::NetMon(_)));
        for size in [64, 100, 333, 1 << 20] {
            let mut got = Vec::new();
            let mut next = file.first();
            for range in file.chunks(size) {
                let read = file.read_chunk(range.clone(), Start::Resync, &mut |f| {
                    got.push(f.data.to_vec())
                });
                if let Some(began) = &read.began {
                    assert!(range.contains(&began.0));
                    assert_eq!(began, &next, "chunk {range:?} of {size}");
                }
                if read.began.is_some() || next.0 < range.end {
                    next = (read.next, read.end_state);
                }
            }
            assert_eq!(
                got,
                whole.iter().map(|f| f.2.clone()).collect::<Vec<_>>(),
                "{size}"
            );
        }
    }

    #[test]
    fn a_table_out_of_file_order_is_read_in_table_order_in_one_chunk() {
        let specs = [spec(0, 1, b"one"), spec(1, 1, b"two"), spec(2, 1, b"three")];
        let bytes = file(1, &specs, &[2, 0, 1]);
        let file_ = CaptureFile::from_bytes("t.cap".into(), bytes.clone()).expect("a NetMon file");
        assert_eq!(file_.chunks(64).len(), 1);
        let data: Vec<Vec<u8>> = read_all(bytes).0.into_iter().map(|f| f.2).collect();
        assert_eq!(data, [b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]);
    }

    #[test]
    fn damage_is_reported_and_reading_goes_on() {
        let specs = [spec(0, 1, b"one"), spec(1, 1, b"two"), spec(2, 1, b"three")];
        let good = file(1, &specs, &in_order(3));
        // A table entry pointing past the end: that frame is reported, the others read.
        let mut bad = good.clone();
        let table = bad.len() - 12;
        bad[table + 4..table + 8].copy_from_slice(&(u32::MAX / 2).to_le_bytes());
        bad.extend_from_slice(&[0; 4]);
        let (frames, warnings) = read_all(bad);
        assert_eq!(frames.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].contains("ends inside a frame header"),
            "{warnings:?}"
        );
        // An entry past the end of an in-order table: reported once, the others read.
        let mut past = good.clone();
        let table = past.len() - 12;
        past[table + 8..table + 12].copy_from_slice(&(u32::MAX / 2).to_le_bytes());
        let (frames, warnings) = read_all(past);
        assert_eq!(frames.len(), 2, "{warnings:?}");
        assert_eq!(
            warnings,
            ["1 of the 3 frames in the NetMon frame table start past the end of the file (truncated capture): they are not read"]
        );
        // The table cut short: the entries present are read.
        let (frames, warnings) = read_all(good[..good.len() - 2].to_vec());
        assert_eq!(frames.len(), 2);
        assert!(
            warnings[0].contains("frame table is cut short: 2 of 3"),
            "{warnings:?}"
        );
        // No table at all (cut before it): the records are walked from the header.
        let no_table = good[..good.len() - 12].to_vec();
        let (frames, warnings) = read_all(no_table.clone());
        assert_eq!(frames.len(), 3, "{warnings:?}");
        assert!(
            warnings[0].contains("frame table is missing"),
            "{warnings:?}"
        );
        // A walk stops at the first frame cut short.
        let (frames, warnings) = read_all(no_table[..no_table.len() - 3].to_vec());
        assert_eq!(frames.len(), 2);
        assert!(warnings[1].contains("cut short"), "{warnings:?}");
    }

    #[test]
    fn every_prefix_reads_without_panic() {
        let specs = [
            spec(0, 1, b"one"),
            spec(1, 0xFFE0, b"event"),
            spec(2, 6, &[2, 40, 0, 1]),
        ];
        let bytes = file(3, &specs, &in_order(3));
        for n in 0..bytes.len() {
            if let Ok(file) = CaptureFile::from_bytes("t.cap".into(), bytes[..n].to_vec()) {
                let (at, state) = file.first();
                file.read_chunk(at..file.len(), Start::At(at, state), &mut |_| {});
                for range in file.chunks(64) {
                    file.read_chunk(range, Start::Resync, &mut |_| {});
                }
            }
        }
    }

    #[test]
    fn other_major_versions_and_short_headers_are_refused() {
        let mut v3 = file(0, &[spec(0, 1, b"x")], &[0]);
        v3[5] = 3;
        assert!(matches!(
            CaptureFile::from_bytes("t.cap".into(), v3),
            Err(OpenError::BadHeader(m)) if m.contains("major version 3")
        ));
        assert!(matches!(
            CaptureFile::from_bytes("t.cap".into(), b"GMBU\x01\x02".to_vec()),
            Err(OpenError::BadHeader(m)) if m.contains("needs 64 bytes")
        ));
    }

    #[test]
    fn an_empty_table_is_a_capture_without_frames() {
        let mut f = vec![0u8; PADDED_HEADER];
        f[..6].copy_from_slice(b"GMBU\x01\x02");
        let file = CaptureFile::from_bytes("t.cap".into(), f).expect("a NetMon file");
        assert!(file.is_empty());
    }
}
