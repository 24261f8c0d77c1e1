//! pcapng files: a sequence of blocks, each framed by its length at both ends.
//!
//! Format: <https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html>. Blocks are parsed with
//! `pcap-parser` (except the obsolete Packet Block, type 2, which it does not know).
//! State carried across blocks: the section's byte order and its interfaces (link type, timestamp
//! resolution and offset), which enhanced packet blocks refer to by index.
//! The repeated block length makes resynchronisation in the middle of a file reliable.

use std::ops::Range;

use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapNGPacketBlock;

use super::{ChunkRead, Frame, State, Warning};

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const OBSOLETE_PACKET: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;
/// Decryption Secrets Block (pcapng §4.7).
const DSB: u32 = 0xA;
const BOM: u32 = 0x1A2B_3C4D;
/// Block types resynchronisation accepts as a block start.
const KNOWN_BLOCKS: &[u32] = &[
    SHB,
    IDB,
    OBSOLETE_PACKET,
    SPB,
    4,
    5,
    EPB,
    9,
    0xA,
    0xBAD,
    0x4000_0BAD,
    0x8000_0001,
];
/// Blocks larger than this are taken as damage (64 MiB).
const MAX_BLOCK: u32 = 64 << 20;
/// How many blocks after a candidate must also look right before resynchronisation trusts it.
const CONFIRM: usize = 3;
/// How far into the file the header blocks (SHB, IDBs) are looked for.
const HEADER_SCAN: usize = 1 << 20;

/// The reading state of a pcapng section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    big_endian: bool,
    interfaces: Vec<Interface>,
}

/// An interface of a section, as its Interface Description Block says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Interface {
    link_type: u32,
    /// Timestamp units per second (`if_tsresol`).
    units_per_sec: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_s: i64,
}

impl Interface {
    fn ts_ns(&self, high: u32, low: u32) -> i64 {
        let units = (u64::from(high) << 32) | u64::from(low);
        let ns = u128::from(units) * 1_000_000_000 / u128::from(self.units_per_sec.max(1));
        let ns = i64::try_from(ns).unwrap_or(i64::MAX);
        ns.saturating_add(self.offset_s.saturating_mul(1_000_000_000))
    }
}

fn u32_at(data: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let b: [u8; 4] = data.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}

/// The type and total length of the block at `at`, if its framing is intact (both lengths agree, the
/// length is a multiple of 4 and fits in the file).
fn framing(data: &[u8], at: usize, big_endian: bool) -> Option<(u32, usize)> {
    let kind = u32_at(data, at, big_endian)?;
    // A section header carries its own byte order.
    let be = if kind == SHB {
        u32_at(data, at + 8, false)? != BOM
    } else {
        big_endian
    };
    let len = u32_at(data, at + 4, be)?;
    if len < 12 || len % 4 != 0 || len > MAX_BLOCK {
        return None;
    }
    let len = len as usize;
    let end = at.checked_add(len)?;
    if end > data.len() || u32_at(data, end - 4, be)? != len as u32 {
        return None;
    }
    Some((kind, len))
}

/// What the header blocks of a file hold: the state at its start, the state after them (assumed
/// where chunks resynchronise), and the TLS key logs of its Decryption Secrets Blocks.
pub(super) struct Header {
    pub at_start: Section,
    pub after: Section,
    pub tls_key_logs: Vec<Vec<u8>>,
}

/// Reads the first section header and the blocks after it up to the first packet. Decryption Secrets
/// Blocks are read there, where `editcap --inject-secrets` and dumpcap put them; one after the first
/// packet is not seen (they would have to be read in capture order, by the fold).
pub(super) fn first_section(data: &[u8]) -> Result<Header, String> {
    let shb = pcap_parser::pcapng::parse_sectionheaderblock(data)
        .map_err(|_| "the pcapng section header block is cut short or damaged".to_string())?
        .1;
    let at_start = Section {
        big_endian: shb.big_endian(),
        interfaces: Vec::new(),
    };
    let mut after = at_start.clone();
    let mut tls_key_logs = Vec::new();
    let mut off = shb.block_len1 as usize;
    while off < data.len().min(HEADER_SCAN) {
        let Some((kind, len)) = framing(data, off, after.big_endian) else {
            break;
        };
        match kind {
            IDB => {
                let mut ignored = Vec::new();
                apply_block(
                    &data[off..off + len],
                    off,
                    &mut after,
                    &mut ignored,
                    &mut |_| {},
                );
            }
            DSB => {
                let block = &data[off..off + len];
                let parsed = if after.big_endian {
                    pcap_parser::pcapng::parse_block_be(block)
                } else {
                    pcap_parser::pcapng::parse_block_le(block)
                };
                if let Ok((_, Block::DecryptionSecrets(dsb))) = parsed {
                    if dsb.secrets_type == pcap_parser::pcapng::SecretsType::TlsKeyLog {
                        tls_key_logs.push(dsb.data.to_vec());
                    }
                }
            }
            EPB | SPB | OBSOLETE_PACKET | SHB => break,
            _ => {}
        }
        off += len;
    }
    Ok(Header {
        at_start,
        after,
        tls_key_logs,
    })
}

/// Whether a block starts at `at` and the next [`CONFIRM`] blocks follow it intact.
fn confirmed(data: &[u8], at: usize, section: &Section) -> bool {
    let mut pos = at;
    let mut be = section.big_endian;
    for _ in 0..=CONFIRM {
        if pos == data.len() {
            return true;
        }
        let Some((kind, len)) = framing(data, pos, be) else {
            return false;
        };
        if !KNOWN_BLOCKS.contains(&kind) {
            return false;
        }
        if kind == SHB {
            be = u32_at(data, pos + 8, false) != Some(BOM);
        }
        pos += len;
    }
    true
}

/// Reads the blocks that start in `range` (see [`super::CaptureFile::read_chunk`]).
pub(super) fn read(
    data: &[u8],
    range: Range<usize>,
    at: Option<usize>,
    mut section: Section,
    visit: &mut dyn FnMut(Frame<'_>),
) -> ChunkRead {
    let mut warnings = Vec::new();
    let start = match at {
        Some(at) => Some(at),
        // Blocks are 32-bit aligned from the start of the file.
        None => (range.start.next_multiple_of(4)..range.end.min(data.len()))
            .step_by(4)
            .find(|&at| confirmed(data, at, &section)),
    };
    let Some(mut off) = start else {
        return ChunkRead {
            began: None,
            next: range.end,
            end_state: State::PcapNg(section),
            warnings,
        };
    };
    let began = Some((off, State::PcapNg(section.clone())));
    let mut last_ts = 0i64;
    while off < range.end && off < data.len() {
        let Some((_, len)) = framing(data, off, section.big_endian) else {
            let left = data.len() - off;
            let declared = u32_at(data, off + 4, section.big_endian);
            if declared.is_some_and(|len| len as usize > left && len <= MAX_BLOCK) {
                warnings.push(Warning {
                    offset: off as u64,
                    message: format!(
                        "the last block is cut short: it needs {} bytes, the file has {left} (truncated capture)",
                        declared.unwrap_or(0)
                    ),
                });
                off = data.len();
                break;
            }
            let resumed = (off + 4..data.len())
                .step_by(4)
                .find(|&at| confirmed(data, at, &section));
            warnings.push(Warning {
                offset: off as u64,
                message: match resumed {
                    Some(next) => format!(
                        "damaged block (bad length {}): {} bytes skipped to the next block",
                        declared.unwrap_or(0),
                        next - off
                    ),
                    None => format!(
                        "damaged block (bad length {}): no further block found",
                        declared.unwrap_or(0)
                    ),
                },
            });
            off = resumed.unwrap_or(data.len());
            continue;
        };
        apply_block(
            &data[off..off + len],
            off,
            &mut section,
            &mut warnings,
            &mut |frame: Frame<'_>| {
                // A simple packet block has no timestamp: it gets the previous packet's.
                let frame = if frame.ts_ns == i64::MIN {
                    Frame {
                        ts_ns: last_ts,
                        ..frame
                    }
                } else {
                    frame
                };
                last_ts = frame.ts_ns;
                visit(frame);
            },
        );
        off += len;
    }
    ChunkRead {
        began,
        next: off,
        end_state: State::PcapNg(section),
        warnings,
    }
}

/// Interprets one intact block: updates the section state or hands a packet to `visit`.
/// Simple packet blocks are handed over with `ts_ns == i64::MIN` (no timestamp).
fn apply_block(
    block: &[u8],
    off: usize,
    section: &mut Section,
    warnings: &mut Vec<Warning>,
    visit: &mut dyn FnMut(Frame<'_>),
) {
    let warn = |warnings: &mut Vec<Warning>, message: String| {
        warnings.push(Warning {
            offset: off as u64,
            message,
        })
    };
    let parsed = if section.big_endian {
        pcap_parser::pcapng::parse_block_be(block)
    } else {
        pcap_parser::pcapng::parse_block_le(block)
    };
    let block = match parsed {
        Ok((_, block)) => block,
        Err(_) => {
            warn(warnings, "block could not be parsed: skipped".to_string());
            return;
        }
    };
    match block {
        Block::SectionHeader(shb) => {
            *section = Section {
                big_endian: shb.big_endian(),
                interfaces: Vec::new(),
            };
        }
        Block::InterfaceDescription(idb) => {
            let units_per_sec = idb.ts_resolution().unwrap_or_else(|| {
                warn(
                    warnings,
                    format!(
                        "interface has an invalid if_tsresol {}: microseconds assumed",
                        idb.if_tsresol
                    ),
                );
                1_000_000
            });
            section.interfaces.push(Interface {
                link_type: (idb.linktype.0 as u32) & 0x0fff_ffff,
                units_per_sec,
                offset_s: idb.if_tsoffset,
            });
        }
        Block::EnhancedPacket(epb) => match section.interfaces.get(epb.if_id as usize) {
            Some(iface) => visit(Frame {
                ts_ns: iface.ts_ns(epb.ts_high, epb.ts_low),
                link_type: iface.link_type,
                data: epb.packet_data(),
                orig_len: epb.origlen,
            }),
            None => warn(
                warnings,
                format!(
                    "packet refers to interface {} which was not described: skipped",
                    epb.if_id
                ),
            ),
        },
        Block::SimplePacket(spb) => match section.interfaces.first() {
            Some(iface) => visit(Frame {
                ts_ns: i64::MIN,
                link_type: iface.link_type,
                data: spb.packet_data(),
                orig_len: spb.origlen,
            }),
            None => warn(
                warnings,
                "simple packet block before any interface description: skipped".to_string(),
            ),
        },
        Block::Unknown(unknown) if unknown.block_type == OBSOLETE_PACKET => {
            obsolete_packet(unknown.data, section, warnings, off, visit)
        }
        _ => {}
    }
}

/// The obsolete Packet Block (type 2): interface id (16 bits), drops (16), timestamp (2×32),
/// captured length, original length, data.
fn obsolete_packet(
    body: &[u8],
    section: &Section,
    warnings: &mut Vec<Warning>,
    off: usize,
    visit: &mut dyn FnMut(Frame<'_>),
) {
    let be = section.big_endian;
    let if_id = body.get(0..2).map(|b| {
        if be {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            u16::from_le_bytes([b[0], b[1]])
        }
    });
    let fields = (
        u32_at(body, 4, be),
        u32_at(body, 8, be),
        u32_at(body, 12, be),
        u32_at(body, 16, be),
    );
    let (Some(if_id), (Some(high), Some(low), Some(caplen), Some(origlen))) = (if_id, fields)
    else {
        warnings.push(Warning {
            offset: off as u64,
            message: "obsolete packet block too short: skipped".to_string(),
        });
        return;
    };
    let data = body.get(20..20 + caplen as usize);
    match (section.interfaces.get(usize::from(if_id)), data) {
        (Some(iface), Some(data)) => visit(Frame {
            ts_ns: iface.ts_ns(high, low),
            link_type: iface.link_type,
            data,
            orig_len: origlen,
        }),
        _ => warnings.push(Warning {
            offset: off as u64,
            message: "obsolete packet block with a bad interface or length: skipped".to_string(),
        }),
    }
}
