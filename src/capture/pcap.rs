//! Classic libpcap files: a 24-byte file header, then records of a 16-byte header and the packet bytes.
//!
//! Format: <https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-03.html>. Records are parsed with
//! `pcap-parser`; this module adds what a parallel, forgiving reader needs on top: recognising a
//! plausible record header in the middle of the file (resynchronisation) and skipping damaged records.

use std::ops::Range;

use super::{ChunkRead, Format, Frame, State, Warning};

/// Length of the file header.
pub(super) const HEADER_LEN: usize = 24;
/// Length of a record header.
const RECORD_HEADER: usize = 16;
/// Records larger than this are taken as damage whatever the snaplen says (16 MiB).
const HARD_MAX_CAPLEN: u32 = 16 << 20;
/// Wireshark's usual packet size limit; files whose snaplen is smaller still get this much room.
const DEFAULT_MAX_CAPLEN: u32 = 262_144;
/// How many records after a candidate must also look right before resynchronisation trusts it.
const CONFIRM: usize = 4;
/// Records of one confirmation chain must lie within this many seconds of each other.
const CHAIN_SPAN_S: u32 = 86_400;

/// Parses the file header.
pub(super) fn header(data: &[u8]) -> Result<Format, String> {
    let (_, hdr) = pcap_parser::pcap::parse_pcap_header(data).map_err(|_| {
        format!(
            "pcap file header needs {HEADER_LEN} bytes, the file has {}",
            data.len()
        )
    })?;
    Ok(Format::Pcap {
        big_endian: hdr.is_bigendian(),
        nanos: hdr.is_nanosecond_precision(),
        // Link types are 16-bit in practice; the upper bits of the field carry FCS flags (ignored).
        link_type: (hdr.network.0 as u32) & 0x0fff_ffff,
        snaplen: hdr.snaplen,
    })
}

/// The fields of a record header.
#[derive(Clone, Copy)]
struct Record {
    sec: u32,
    frac: u32,
    caplen: u32,
    origlen: u32,
}

struct Layout {
    big_endian: bool,
    nanos: bool,
    link_type: u32,
    max_caplen: u32,
}

impl Layout {
    fn new(format: Format) -> Layout {
        match format {
            Format::Pcap {
                big_endian,
                nanos,
                link_type,
                snaplen,
            } => Layout {
                big_endian,
                nanos,
                link_type,
                max_caplen: snaplen.clamp(DEFAULT_MAX_CAPLEN, HARD_MAX_CAPLEN),
            },
            Format::PcapNg | Format::NetMon(_) => Layout {
                big_endian: false,
                nanos: false,
                link_type: 0,
                max_caplen: DEFAULT_MAX_CAPLEN,
            },
        }
    }

    fn u32_at(&self, data: &[u8], at: usize) -> Option<u32> {
        let b: [u8; 4] = data.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    fn record(&self, data: &[u8], at: usize) -> Option<Record> {
        Some(Record {
            sec: self.u32_at(data, at)?,
            frac: self.u32_at(data, at + 4)?,
            caplen: self.u32_at(data, at + 8)?,
            origlen: self.u32_at(data, at + 12)?,
        })
    }

    /// Whether a record header is believable on its own.
    fn plausible(&self, rec: Record) -> bool {
        let frac_limit = if self.nanos { 1_000_000_000 } else { 1_000_000 };
        rec.caplen <= self.max_caplen
            && rec.frac < frac_limit
            && rec.origlen >= rec.caplen
            && rec.origlen <= HARD_MAX_CAPLEN
    }

    /// Whether a record starts at `at`: its header and the next [`CONFIRM`] headers are plausible, close
    /// in time, and each record ends exactly where the next begins (or at the end of the file).
    fn confirmed(&self, data: &[u8], at: usize) -> bool {
        let Some(first) = self.record(data, at) else {
            return false;
        };
        let mut pos = at;
        for _ in 0..=CONFIRM {
            if pos == data.len() {
                return true;
            }
            let Some(rec) = self.record(data, pos) else {
                return false;
            };
            if !self.plausible(rec) || rec.sec.abs_diff(first.sec) > CHAIN_SPAN_S {
                return false;
            }
            pos = match pos.checked_add(RECORD_HEADER + rec.caplen as usize) {
                Some(next) if next <= data.len() => next,
                _ => return false,
            };
        }
        true
    }

    /// The first offset in `from..to` where a confirmed record starts.
    fn resync(&self, data: &[u8], from: usize, to: usize) -> Option<usize> {
        (from..to.min(data.len())).find(|&at| self.confirmed(data, at))
    }
}

/// Reads the records that start in `range` (see [`super::CaptureFile::read_chunk`]).
pub(super) fn read(
    data: &[u8],
    format: Format,
    range: Range<usize>,
    at: Option<usize>,
    visit: &mut dyn FnMut(Frame<'_>),
) -> ChunkRead {
    let layout = Layout::new(format);
    let mut warnings = Vec::new();
    let start = match at {
        Some(at) => Some(at),
        None => layout.resync(data, range.start, range.end),
    };
    let Some(mut off) = start else {
        return ChunkRead {
            began: None,
            next: range.end,
            end_state: State::Pcap,
            warnings,
        };
    };
    let began = Some((off, State::Pcap));
    let parse = if layout.big_endian {
        pcap_parser::pcap::parse_pcap_frame_be
    } else {
        pcap_parser::pcap::parse_pcap_frame
    };
    while off < range.end && off < data.len() {
        let left = data.len() - off;
        let Some(rec) = layout.record(data, off) else {
            warnings.push(Warning {
                offset: off as u64,
                message: format!("the file ends inside a record header ({left} bytes left)"),
            });
            off = data.len();
            break;
        };
        if rec.caplen > layout.max_caplen {
            let resumed = layout.resync(data, off + 1, data.len());
            warnings.push(Warning {
                offset: off as u64,
                message: match resumed {
                    Some(next) => format!(
                        "record claims {} captured bytes (limit {}): damaged, {} bytes skipped to the next record",
                        rec.caplen,
                        layout.max_caplen,
                        next - off
                    ),
                    None => format!(
                        "record claims {} captured bytes (limit {}): damaged, no further record found",
                        rec.caplen, layout.max_caplen
                    ),
                },
            });
            off = resumed.unwrap_or(data.len());
            continue;
        }
        let need = RECORD_HEADER + rec.caplen as usize;
        if need > left {
            warnings.push(Warning {
                offset: off as u64,
                message: format!(
                    "the last record is cut short: it needs {need} bytes, the file has {left} (truncated capture)"
                ),
            });
            off = data.len();
            break;
        }
        match parse(&data[off..off + need]) {
            Ok((_, block)) => {
                let frac_ns = if layout.nanos {
                    i64::from(block.ts_usec)
                } else {
                    i64::from(block.ts_usec) * 1000
                };
                visit(Frame {
                    ts_ns: i64::from(block.ts_sec) * 1_000_000_000 + frac_ns,
                    link_type: layout.link_type,
                    data: block.data,
                    orig_len: block.origlen,
                });
            }
            Err(_) => warnings.push(Warning {
                offset: off as u64,
                message: "record could not be parsed".to_string(),
            }),
        }
        off += need;
    }
    ChunkRead {
        began,
        next: off,
        end_state: State::Pcap,
        warnings,
    }
}
