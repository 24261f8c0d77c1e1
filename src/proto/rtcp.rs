//! RTCP compound packets (RFC 3550 §6) and the XR VoIP metrics report block (RFC 3611 §4.7).
//!
//! Takes in: the payload of one UDP datagram carrying RTCP (on its own port, or multiplexed with RTP, RFC 5761).
//! Produces: [`Compound`], a validated chain of packets (plus the SRTCP trailer, if any); [`Packet`] views with [`Packet::body`] decoding
//! sender/receiver reports ([`ReportBlock`]: fraction lost, signed cumulative loss, jitter, LSR/DLSR), SDES items,
//! BYE, APP and XR blocks; and [`looks_like_rtcp`], the cheap classifier.
//! Does not: decrypt SRTCP (the authentication tag and index after the last packet are exposed as
//! [`Compound::trailer`], not checked), parse feedback messages (RTPFB/PSFB are kept as [`Body::Unknown`]), or
//! relate reports to streams.
//!
//! No-panic contract: [`Compound::parse`] checks the whole length chain and [`Packet::body`] checks every
//! structure it exposes before returning it, so accessors of the returned views never read out of range.
//! Parsing allocates nothing; iterators borrow the input.

use thiserror::Error;

use super::bytes::{be16, be32, be64, byte};

/// Why bytes are not valid RTCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Error {
    /// The buffer ends before the part the headers announce.
    #[error(
        "rtcp {what} truncated at offset {offset}: needs {needed} bytes, {available} available"
    )]
    Truncated {
        what: &'static str,
        offset: usize,
        needed: usize,
        available: usize,
    },
    /// The version field is not 2.
    #[error("rtcp version {version} at offset {offset} is not 2")]
    Version { version: u8, offset: usize },
    /// The first packet's type is not one of 200..=207.
    #[error("rtcp packet type {0} is not 200..=207")]
    PacketType(u8),
    /// The padding count is zero or exceeds the packet body.
    #[error("rtcp padding count {count} does not fit a body of {available} bytes")]
    Padding { count: u8, available: usize },
}

mod field {
    pub type Field = core::ops::Range<usize>;
    /// V(2) P(1) count(5).
    pub const FLAGS: usize = 0;
    pub const PACKET_TYPE: usize = 1;
    pub const LENGTH: Field = 2..4;
    pub const HEADER_LEN: usize = 4;
    pub const REPORT_BLOCK_LEN: usize = 24;
    /// Sender SSRC + NTP(8) + RTP ts + packet count + octet count.
    pub const SENDER_INFO_LEN: usize = 24;
    pub const XR_BLOCK_HEADER_LEN: usize = 4;
    pub const VOIP_METRICS_LEN: usize = 32;
}

/// RTCP packet type (RFC 3550 §12.1, RFC 4585, RFC 3611); unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PacketType(pub u8);

impl PacketType {
    pub const SR: Self = Self(200);
    pub const RR: Self = Self(201);
    pub const SDES: Self = Self(202);
    pub const BYE: Self = Self(203);
    pub const APP: Self = Self(204);
    pub const RTPFB: Self = Self(205);
    pub const PSFB: Self = Self(206);
    pub const XR: Self = Self(207);

    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            200 => "SR",
            201 => "RR",
            202 => "SDES",
            203 => "BYE",
            204 => "APP",
            205 => "RTPFB",
            206 => "PSFB",
            207 => "XR",
            _ => return None,
        })
    }
}

/// SDES item type (RFC 3550 §6.5); unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SdesType(pub u8);

impl SdesType {
    pub const END: Self = Self(0);
    pub const CNAME: Self = Self(1);
    pub const NAME: Self = Self(2);
    pub const EMAIL: Self = Self(3);
    pub const PHONE: Self = Self(4);
    pub const LOC: Self = Self(5);
    pub const TOOL: Self = Self(6);
    pub const NOTE: Self = Self(7);
    pub const PRIV: Self = Self(8);
}

fn truncated(what: &'static str, offset: usize, needed: usize, available: usize) -> Error {
    Error::Truncated {
        what,
        offset,
        needed,
        available,
    }
}

/// Length in bytes of the packet starting at `buf[offset..]`, after checking its header.
fn packet_len_at(buf: &[u8], offset: usize) -> Result<usize, Error> {
    let rest = buf.get(offset..).unwrap_or(&[]);
    if rest.len() < field::HEADER_LEN {
        return Err(truncated("header", offset, field::HEADER_LEN, rest.len()));
    }
    let version = byte(rest, field::FLAGS) >> 6;
    if version != 2 {
        return Err(Error::Version { version, offset });
    }
    // Length is in 32-bit words minus one (RFC 3550 §6.4.1).
    let len = (usize::from(be16(rest, field::LENGTH.start)) + 1) * 4;
    if rest.len() < len {
        return Err(truncated("packet", offset, len, rest.len()));
    }
    Ok(len)
}

/// Length of a packet after the first in a compound; its type must be in the RTCP range 192..=223 (RFC 5761
/// §4), which also stops the walk at an SRTCP E-flag/index word that happens to look like a header.
fn next_in_chain(buf: &[u8], offset: usize) -> Result<usize, Error> {
    let len = packet_len_at(buf, offset)?;
    let pt = byte(buf, offset.saturating_add(field::PACKET_TYPE));
    if (192..=223).contains(&pt) {
        Ok(len)
    } else {
        Err(Error::PacketType(pt))
    }
}

/// A validated RTCP compound packet: a chain of packets whose length fields add up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compound<'a> {
    /// The bytes covered by the chain.
    packets: &'a [u8],
    /// Bytes after the chain (SRTCP E-flag/index and authentication tag), empty for plain RTCP.
    trailer: &'a [u8],
}

impl<'a> Compound<'a> {
    /// Validates the chain. The first packet must be of type 200..=207; the chain must cover the whole buffer,
    /// except that bytes after it that do not start with a valid header are kept as an SRTCP trailer.
    pub fn parse(buf: &'a [u8]) -> Result<Self, Error> {
        let first = packet_len_at(buf, 0)?;
        let pt = byte(buf, field::PACKET_TYPE);
        if !(200..=207).contains(&pt) {
            return Err(Error::PacketType(pt));
        }
        let mut end = first;
        while end < buf.len() {
            match next_in_chain(buf, end) {
                Ok(len) => end += len,
                // The rest cannot be another packet: SRTCP puts a 4-byte index and a tag after the last packet
                // (RFC 3711 §3.4), which we keep rather than reject.
                Err(_) => break,
            }
        }
        let (packets, trailer) = buf.split_at(end.min(buf.len()));
        Ok(Self { packets, trailer })
    }

    /// The packets of the compound, in order.
    pub fn packets(&self) -> Packets<'a> {
        Packets { rest: self.packets }
    }

    /// Bytes after the last packet (SRTCP index and tag), empty for plain RTCP.
    pub fn trailer(&self) -> &'a [u8] {
        self.trailer
    }
}

/// Iterator over the packets of a [`Compound`].
#[derive(Debug, Clone)]
pub struct Packets<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Packets<'a> {
    type Item = Packet<'a>;

    fn next(&mut self) -> Option<Packet<'a>> {
        let len = packet_len_at(self.rest, 0).ok()?;
        let (this, rest) = self.rest.split_at(len.min(self.rest.len()));
        self.rest = rest;
        Some(Packet { buf: this })
    }
}

/// One RTCP packet (header + body), exactly as long as its length field says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    buf: &'a [u8],
}

/// The decoded body of a packet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Body<'a> {
    SenderReport(SenderReport<'a>),
    ReceiverReport(ReceiverReport<'a>),
    SourceDescription(Sdes<'a>),
    Goodbye(Bye<'a>),
    App(App<'a>),
    ExtendedReport(Xr<'a>),
    /// Feedback (RTPFB/PSFB) and unassigned types: header only.
    Unknown(PacketType),
}

impl<'a> Packet<'a> {
    /// Validates a single packet at the start of `buf` (the view covers exactly its length).
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, Error> {
        let len = packet_len_at(buf, 0)?;
        Ok(Self {
            buf: buf.get(..len).unwrap_or(&[]),
        })
    }

    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    pub fn padding(&self) -> bool {
        byte(self.buf, field::FLAGS) & 0x20 != 0
    }

    /// The 5-bit count field: report blocks (SR/RR), chunks (SDES), sources (BYE), subtype (APP), FMT (feedback).
    pub fn count(&self) -> u8 {
        byte(self.buf, field::FLAGS) & 0x1f
    }

    pub fn packet_type(&self) -> PacketType {
        PacketType(byte(self.buf, field::PACKET_TYPE))
    }

    /// The body after the 4-byte header, padding removed.
    pub fn payload(&self) -> Result<&'a [u8], Error> {
        let body = self.buf.get(field::HEADER_LEN..).unwrap_or(&[]);
        if !self.padding() {
            return Ok(body);
        }
        let count = body.last().copied().unwrap_or(0);
        if count == 0 || usize::from(count) > body.len() {
            return Err(Error::Padding {
                count,
                available: body.len(),
            });
        }
        Ok(body.get(..body.len() - usize::from(count)).unwrap_or(&[]))
    }

    /// Decodes the body according to the packet type.
    pub fn body(&self) -> Result<Body<'a>, Error> {
        let body = self.payload()?;
        let count = usize::from(self.count());
        let need = |what, n: usize| {
            if body.len() < n {
                Err(truncated(what, field::HEADER_LEN, n, body.len()))
            } else {
                Ok(())
            }
        };
        Ok(match self.packet_type() {
            PacketType::SR => {
                let n = field::SENDER_INFO_LEN + count * field::REPORT_BLOCK_LEN;
                need("sender report", n)?;
                Body::SenderReport(SenderReport { body, count })
            }
            PacketType::RR => {
                let n = 4 + count * field::REPORT_BLOCK_LEN;
                need("receiver report", n)?;
                Body::ReceiverReport(ReceiverReport { body, count })
            }
            PacketType::SDES => Body::SourceDescription(Sdes { body, count }),
            PacketType::BYE => {
                need("bye", 4 * count)?;
                Body::Goodbye(Bye { body, count })
            }
            PacketType::APP => {
                need("app", 8)?;
                Body::App(App {
                    subtype: self.count(),
                    body,
                })
            }
            PacketType::XR => {
                need("extended report", 4)?;
                Body::ExtendedReport(Xr { body })
            }
            other => Body::Unknown(other),
        })
    }
}

/// One reception report block (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlock {
    /// The source this block reports on.
    pub ssrc: u32,
    /// Fraction lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost, 24-bit signed (duplicates can make it negative).
    pub cumulative_lost: i32,
    pub extended_highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP time of the last SR received (0: none).
    pub last_sr: u32,
    /// Delay since that SR, in 1/65536 s.
    pub delay_since_last_sr: u32,
}

impl ReportBlock {
    fn read(b: &[u8]) -> Self {
        // 24-bit two's complement: shift into the top of an i32 and back to extend the sign.
        let raw = be32(b, 4) & 0x00ff_ffff;
        let cumulative_lost = ((raw << 8) as i32) >> 8;
        Self {
            ssrc: be32(b, 0),
            fraction_lost: byte(b, 4),
            cumulative_lost,
            extended_highest_seq: be32(b, 8),
            jitter: be32(b, 12),
            last_sr: be32(b, 16),
            delay_since_last_sr: be32(b, 20),
        }
    }

    /// Fraction lost as a percentage.
    pub fn fraction_lost_pct(&self) -> f64 {
        f64::from(self.fraction_lost) * 100.0 / 256.0
    }

    /// Round-trip time in 1/65536 s, from the compact NTP arrival time of this report (RFC 3550 §6.4.1):
    /// A − LSR − DLSR. `None` without an SR to refer to, or when clocks make it negative.
    pub fn round_trip(&self, arrival_compact_ntp: u32) -> Option<u32> {
        if self.last_sr == 0 {
            return None;
        }
        let rtt = arrival_compact_ntp
            .wrapping_sub(self.last_sr)
            .wrapping_sub(self.delay_since_last_sr);
        // A "negative" result shows up as a huge value; more than half the range cannot be a real RTT.
        (rtt < 0x8000_0000).then_some(rtt)
    }
}

/// The middle 32 bits of a 64-bit NTP timestamp (RFC 3550 §4), the unit of LSR and of `round_trip`'s argument.
pub fn compact_ntp(ntp: u64) -> u32 {
    // Bits 16..48; the truncation is the point.
    (ntp >> 16) as u32
}

/// Iterator over report blocks.
#[derive(Debug, Clone)]
pub struct ReportBlocks<'a> {
    chunks: core::slice::ChunksExact<'a, u8>,
    left: usize,
}

impl Iterator for ReportBlocks<'_> {
    type Item = ReportBlock;

    fn next(&mut self) -> Option<ReportBlock> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        self.chunks.next().map(ReportBlock::read)
    }
}

fn report_blocks(body: &[u8], at: usize, count: usize) -> ReportBlocks<'_> {
    ReportBlocks {
        chunks: body
            .get(at..)
            .unwrap_or(&[])
            .chunks_exact(field::REPORT_BLOCK_LEN),
        left: count,
    }
}

/// Sender report (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderReport<'a> {
    body: &'a [u8],
    count: usize,
}

impl<'a> SenderReport<'a> {
    pub fn ssrc(&self) -> u32 {
        be32(self.body, 0)
    }
    /// 64-bit NTP wallclock of the report.
    pub fn ntp_timestamp(&self) -> u64 {
        be64(self.body, 4)
    }
    pub fn rtp_timestamp(&self) -> u32 {
        be32(self.body, 12)
    }
    pub fn packet_count(&self) -> u32 {
        be32(self.body, 16)
    }
    pub fn octet_count(&self) -> u32 {
        be32(self.body, 20)
    }
    pub fn reports(&self) -> ReportBlocks<'a> {
        report_blocks(self.body, field::SENDER_INFO_LEN, self.count)
    }
}

/// Receiver report (RFC 3550 §6.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiverReport<'a> {
    body: &'a [u8],
    count: usize,
}

impl<'a> ReceiverReport<'a> {
    pub fn ssrc(&self) -> u32 {
        be32(self.body, 0)
    }
    pub fn reports(&self) -> ReportBlocks<'a> {
        report_blocks(self.body, 4, self.count)
    }
}

/// Source description (RFC 3550 §6.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sdes<'a> {
    body: &'a [u8],
    count: usize,
}

/// One SDES item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesItem<'a> {
    pub kind: SdesType,
    pub value: &'a [u8],
}

/// One SDES chunk: a source and its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesChunk<'a> {
    pub ssrc: u32,
    items: &'a [u8],
}

impl<'a> SdesChunk<'a> {
    /// The items up to the END item (a truncated last item ends the iteration).
    pub fn items(&self) -> SdesItems<'a> {
        SdesItems { rest: self.items }
    }

    /// The CNAME as text, if present and UTF-8.
    pub fn cname(&self) -> Option<&'a str> {
        self.items()
            .find(|i| i.kind == SdesType::CNAME)
            .and_then(|i| core::str::from_utf8(i.value).ok())
    }
}

/// Iterator over the items of a chunk.
#[derive(Debug, Clone)]
pub struct SdesItems<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for SdesItems<'a> {
    type Item = SdesItem<'a>;

    fn next(&mut self) -> Option<SdesItem<'a>> {
        let kind = *self.rest.first()?;
        if kind == 0 {
            self.rest = &[];
            return None;
        }
        let len = usize::from(*self.rest.get(1)?);
        let value = self.rest.get(2..2 + len)?;
        self.rest = self.rest.get(2 + len..).unwrap_or(&[]);
        Some(SdesItem {
            kind: SdesType(kind),
            value,
        })
    }
}

impl<'a> Sdes<'a> {
    /// The chunks; iteration stops at the count or at the first chunk that does not fit.
    pub fn chunks(&self) -> SdesChunks<'a> {
        SdesChunks {
            rest: self.body,
            left: self.count,
        }
    }
}

/// Iterator over SDES chunks.
#[derive(Debug, Clone)]
pub struct SdesChunks<'a> {
    rest: &'a [u8],
    left: usize,
}

impl<'a> Iterator for SdesChunks<'a> {
    type Item = SdesChunk<'a>;

    fn next(&mut self) -> Option<SdesChunk<'a>> {
        if self.left == 0 || self.rest.len() < 4 {
            return None;
        }
        self.left -= 1;
        let ssrc = be32(self.rest, 0);
        let items_start = self.rest.get(4..).unwrap_or(&[]);
        // Walk the items to the END octet; the chunk then pads to a 32-bit boundary (RFC 3550 §6.5).
        let mut at = 0usize;
        loop {
            match items_start.get(at) {
                None => break,
                Some(0) => {
                    at += 1;
                    break;
                }
                Some(_) => {
                    let len = usize::from(byte(items_start, at + 1));
                    at = at.saturating_add(2 + len);
                }
            }
        }
        let items = items_start.get(..at).unwrap_or(items_start);
        let consumed = (4 + at).div_ceil(4) * 4;
        self.rest = self.rest.get(consumed..).unwrap_or(&[]);
        Some(SdesChunk { ssrc, items })
    }
}

/// Goodbye (RFC 3550 §6.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bye<'a> {
    body: &'a [u8],
    count: usize,
}

impl<'a> Bye<'a> {
    pub fn sources(&self) -> impl Iterator<Item = u32> + 'a {
        self.body
            .get(..4 * self.count)
            .unwrap_or(&[])
            .chunks_exact(4)
            .map(|c| be32(c, 0))
    }

    /// The optional reason for leaving.
    pub fn reason(&self) -> Option<&'a [u8]> {
        let at = 4 * self.count;
        let len = usize::from(*self.body.get(at)?);
        self.body.get(at + 1..at + 1 + len)
    }
}

/// Application-defined packet (RFC 3550 §6.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct App<'a> {
    pub subtype: u8,
    body: &'a [u8],
}

impl<'a> App<'a> {
    pub fn ssrc(&self) -> u32 {
        be32(self.body, 0)
    }
    /// Four ASCII characters naming the application.
    pub fn name(&self) -> &'a [u8] {
        self.body.get(4..8).unwrap_or(&[])
    }
    pub fn data(&self) -> &'a [u8] {
        self.body.get(8..).unwrap_or(&[])
    }
}

/// Extended report (RFC 3611).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Xr<'a> {
    body: &'a [u8],
}

/// One XR report block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XrBlock<'a> {
    /// Block type (RFC 3611 §4: 1 loss RLE, 2 duplicate RLE, 3 receipt times, 4 receiver reference time,
    /// 5 DLRR, 6 statistics summary, 7 VoIP metrics).
    pub block_type: u8,
    pub type_specific: u8,
    pub content: &'a [u8],
}

impl<'a> XrBlock<'a> {
    /// The VoIP metrics of a block of type 7 with the full 32-byte content.
    pub fn voip_metrics(&self) -> Option<VoipMetrics> {
        if self.block_type != 7 || self.content.len() < field::VOIP_METRICS_LEN {
            return None;
        }
        let c = self.content;
        Some(VoipMetrics {
            ssrc: be32(c, 0),
            loss_rate: byte(c, 4),
            discard_rate: byte(c, 5),
            burst_density: byte(c, 6),
            gap_density: byte(c, 7),
            burst_duration_ms: be16(c, 8),
            gap_duration_ms: be16(c, 10),
            round_trip_delay_ms: be16(c, 12),
            end_system_delay_ms: be16(c, 14),
            signal_level: byte(c, 16) as i8,
            noise_level: byte(c, 17) as i8,
            rerl: byte(c, 18),
            gmin: byte(c, 19),
            r_factor: byte(c, 20),
            ext_r_factor: byte(c, 21),
            mos_lq: byte(c, 22),
            mos_cq: byte(c, 23),
            rx_config: byte(c, 24),
            jb_nominal_ms: be16(c, 26),
            jb_maximum_ms: be16(c, 28),
            jb_abs_max_ms: be16(c, 30),
        })
    }
}

/// RFC 3611 §4.7 VoIP metrics; raw field values (127 in R/MOS fields means "unavailable").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoipMetrics {
    pub ssrc: u32,
    /// Fraction lost, in 1/256.
    pub loss_rate: u8,
    /// Fraction discarded (late/early), in 1/256.
    pub discard_rate: u8,
    pub burst_density: u8,
    pub gap_density: u8,
    pub burst_duration_ms: u16,
    pub gap_duration_ms: u16,
    pub round_trip_delay_ms: u16,
    pub end_system_delay_ms: u16,
    /// dBm0; 127 = unavailable.
    pub signal_level: i8,
    pub noise_level: i8,
    pub rerl: u8,
    pub gmin: u8,
    /// 0..=100, 127 = unavailable.
    pub r_factor: u8,
    pub ext_r_factor: u8,
    /// MOS × 10 (10..=50), 127 = unavailable.
    pub mos_lq: u8,
    pub mos_cq: u8,
    pub rx_config: u8,
    pub jb_nominal_ms: u16,
    pub jb_maximum_ms: u16,
    pub jb_abs_max_ms: u16,
}

impl VoipMetrics {
    /// MOS-LQ as a float, `None` when unavailable.
    pub fn mos_lq(&self) -> Option<f64> {
        (10..=50)
            .contains(&self.mos_lq)
            .then(|| f64::from(self.mos_lq) / 10.0)
    }
    /// MOS-CQ as a float, `None` when unavailable.
    pub fn mos_cq(&self) -> Option<f64> {
        (10..=50)
            .contains(&self.mos_cq)
            .then(|| f64::from(self.mos_cq) / 10.0)
    }
    /// R factor, `None` when unavailable.
    pub fn r(&self) -> Option<u8> {
        (self.r_factor <= 100).then_some(self.r_factor)
    }
}

impl<'a> Xr<'a> {
    pub fn ssrc(&self) -> u32 {
        be32(self.body, 0)
    }

    /// The report blocks; iteration stops at the first block that does not fit.
    pub fn blocks(&self) -> XrBlocks<'a> {
        XrBlocks {
            rest: self.body.get(4..).unwrap_or(&[]),
        }
    }
}

/// Iterator over XR blocks.
#[derive(Debug, Clone)]
pub struct XrBlocks<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for XrBlocks<'a> {
    type Item = XrBlock<'a>;

    fn next(&mut self) -> Option<XrBlock<'a>> {
        if self.rest.len() < field::XR_BLOCK_HEADER_LEN {
            return None;
        }
        let len = usize::from(be16(self.rest, 2)) * 4;
        let end = field::XR_BLOCK_HEADER_LEN + len;
        let Some(content) = self.rest.get(field::XR_BLOCK_HEADER_LEN..end) else {
            self.rest = &[];
            return None;
        };
        let block = XrBlock {
            block_type: byte(self.rest, 0),
            type_specific: byte(self.rest, 1),
            content,
        };
        self.rest = self.rest.get(end..).unwrap_or(&[]);
        Some(block)
    }
}

/// Cheap classifier: version 2, first packet type 200..=207 (SR/RR/SDES/BYE/APP/feedback/XR), and a length chain
/// that covers the datagram exactly — or, for SRTCP (RFC 3711 §3.4), a valid first packet followed by at least the
/// 4-byte E-flag/index word: only the first 8 bytes of an SRTCP compound are in clear, the rest is ciphertext and
/// tag. The first packet may be any RTCP type, not only SR/RR, because reduced-size RTCP (RFC 5506, used by WebRTC)
/// sends feedback and APP packets alone.
/// The price: a plain compound whose later packet was cut (snaplen) is accepted too. Zero allocation.
pub fn looks_like_rtcp(buf: &[u8]) -> bool {
    let Ok(mut end) = packet_len_at(buf, 0) else {
        return false;
    };
    let pt = byte(buf, field::PACKET_TYPE);
    if !(200..=207).contains(&pt) {
        return false;
    }
    while end < buf.len() {
        match next_in_chain(buf, end) {
            Ok(len) => end += len,
            Err(_) => return buf.len() - end >= 4,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SR (1 report block) + SDES (CNAME "ab@c") compound.
    const SR_SDES: &[u8] = &[
        // SR: V=2 RC=1 PT=200 len=12 words
        0x81, 0xc8, 0x00, 0x0c, //
        0x11, 0x11, 0x11, 0x11, // ssrc
        0xe0, 0x00, 0x00, 0x01, 0x80, 0x00, 0x00, 0x00, // NTP
        0x00, 0x00, 0x03, 0x20, // rtp ts 800
        0x00, 0x00, 0x00, 0x0a, // packets 10
        0x00, 0x00, 0x06, 0x40, // octets 1600
        // report block
        0x22, 0x22, 0x22, 0x22, 0x40, 0xff, 0xff, 0xfe, // fraction 64, cumulative -2
        0x00, 0x01, 0x00, 0x10, // ext highest seq
        0x00, 0x00, 0x00, 0x20, // jitter 32
        0x00, 0x01, 0x80, 0x00, // LSR
        0x00, 0x00, 0x80, 0x00, // DLSR 0.5 s
        // SDES: SC=1 PT=202 len=3 words
        0x81, 0xca, 0x00, 0x03, //
        0x11, 0x11, 0x11, 0x11, //
        0x01, 0x04, b'a', b'b', b'@', b'c', 0x00, 0x00,
    ];

    /// RR with no blocks + BYE with reason "bye", padded.
    const RR_BYE: &[u8] = &[
        0x80, 0xc9, 0x00, 0x01, 0x33, 0x33, 0x33, 0x33, //
        0x81, 0xcb, 0x00, 0x02, 0x33, 0x33, 0x33, 0x33, 0x03, b'b', b'y', b'e',
    ];

    /// XR with a VoIP metrics block.
    fn xr() -> Vec<u8> {
        let mut v = vec![0x80, 0xcf, 0x00, 0x0a, 0x44, 0x44, 0x44, 0x44];
        v.extend_from_slice(&[7, 0, 0x00, 0x08]);
        v.extend_from_slice(&[0x55, 0x55, 0x55, 0x55, 13, 2, 0, 0]);
        v.extend_from_slice(&[0, 0, 0, 0, 0, 40, 0, 20]);
        v.extend_from_slice(&[0xe0, 0xb0, 127, 16, 88, 127, 41, 39]);
        v.extend_from_slice(&[0, 0, 0, 60, 0, 120, 0, 200]);
        v
    }

    #[test]
    fn parses_sr_and_sdes() {
        assert!(looks_like_rtcp(SR_SDES));
        let c = Compound::parse(SR_SDES).expect("valid");
        assert!(c.trailer().is_empty());
        let mut it = c.packets();
        let sr = it.next().expect("sr");
        let Ok(Body::SenderReport(sr)) = sr.body() else {
            panic!("not an SR")
        };
        assert_eq!(sr.ssrc(), 0x1111_1111);
        assert_eq!(sr.packet_count(), 10);
        assert_eq!(sr.octet_count(), 1600);
        assert_eq!(sr.rtp_timestamp(), 800);
        assert_eq!(compact_ntp(sr.ntp_timestamp()), 0x0001_8000);
        let rb: Vec<_> = sr.reports().collect();
        assert_eq!(rb.len(), 1);
        assert_eq!(rb[0].ssrc, 0x2222_2222);
        assert_eq!(rb[0].fraction_lost, 64);
        assert_eq!(rb[0].fraction_lost_pct(), 25.0);
        assert_eq!(rb[0].cumulative_lost, -2);
        assert_eq!(rb[0].jitter, 32);
        assert_eq!(rb[0].round_trip(0x0002_8000), Some(0x8000));
        assert_eq!(rb[0].round_trip(0x0001_0000), None);
        let sdes = it.next().expect("sdes");
        let Ok(Body::SourceDescription(sdes)) = sdes.body() else {
            panic!("not SDES")
        };
        let chunk = sdes.chunks().next().expect("chunk");
        assert_eq!(chunk.ssrc, 0x1111_1111);
        assert_eq!(chunk.cname(), Some("ab@c"));
        assert!(it.next().is_none());
    }

    #[test]
    fn parses_rr_and_bye() {
        let c = Compound::parse(RR_BYE).expect("valid");
        let kinds: Vec<_> = c.packets().map(|p| p.packet_type()).collect();
        assert_eq!(kinds, vec![PacketType::RR, PacketType::BYE]);
        let Some(Ok(Body::Goodbye(bye))) = c.packets().nth(1).map(|p| p.body()) else {
            panic!("not BYE")
        };
        assert_eq!(bye.sources().collect::<Vec<_>>(), vec![0x3333_3333]);
        assert_eq!(bye.reason(), Some(&b"bye"[..]));
    }

    #[test]
    fn parses_xr_voip_metrics() {
        let buf = xr();
        assert!(looks_like_rtcp(&buf));
        let p = Packet::new_checked(&buf).expect("valid");
        let Ok(Body::ExtendedReport(x)) = p.body() else {
            panic!("not XR")
        };
        let m = x
            .blocks()
            .next()
            .and_then(|b| b.voip_metrics())
            .expect("voip metrics");
        assert_eq!(m.ssrc, 0x5555_5555);
        assert_eq!(m.loss_rate, 13);
        assert_eq!(m.round_trip_delay_ms, 40);
        assert_eq!(m.r(), Some(88));
        assert_eq!(m.mos_lq(), Some(4.1));
        assert_eq!(m.mos_cq(), Some(3.9));
        assert_eq!(m.signal_level, -32);
        assert_eq!(m.jb_abs_max_ms, 200);
    }

    #[test]
    fn srtcp_trailer_is_kept() {
        let mut buf = RR_BYE.to_vec();
        buf.extend_from_slice(&[0x80, 0, 0, 1, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]);
        assert!(looks_like_rtcp(&buf));
        assert!(!looks_like_rtcp(&buf[..RR_BYE.len() + 3]));
        let c = Compound::parse(&buf).expect("valid");
        assert_eq!(c.trailer().len(), 14);
        assert_eq!(c.packets().count(), 2);
    }

    #[test]
    fn rejects() {
        // First packet cut short.
        assert!(!looks_like_rtcp(&SR_SDES[..40]));
        // A later packet cut short reads as an SRTCP trailer, unless fewer than 4 bytes follow.
        assert!(looks_like_rtcp(&SR_SDES[..SR_SDES.len() - 1]));
        assert!(!looks_like_rtcp(&SR_SDES[..55]));
        assert!(matches!(
            Compound::parse(&[0x40, 0xc8, 0, 0]),
            Err(Error::Version { version: 1, .. })
        ));
        assert_eq!(
            Compound::parse(&[0x80, 0x60, 0, 0]),
            Err(Error::PacketType(0x60))
        );
        // RR claiming 2 report blocks in a 1-word body.
        let bad = [0x82, 0xc9, 0x00, 0x01, 1, 2, 3, 4];
        let p = Packet::new_checked(&bad).expect("header ok");
        assert!(matches!(p.body(), Err(Error::Truncated { .. })));
        // Padding count larger than the body.
        let pad = [0xa0, 0xc9, 0x00, 0x01, 1, 2, 3, 9];
        let p = Packet::new_checked(&pad).expect("header ok");
        assert!(matches!(p.body(), Err(Error::Padding { .. })));
        // RTP is not RTCP.
        assert!(!looks_like_rtcp(&[
            0x80, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff
        ]));
    }

    fn exercise(buf: &[u8]) {
        let _ = looks_like_rtcp(buf);
        if let Ok(c) = Compound::parse(buf) {
            for p in c.packets() {
                match p.body() {
                    Ok(Body::SenderReport(sr)) => {
                        let _ = (sr.ntp_timestamp(), sr.reports().count());
                    }
                    Ok(Body::ReceiverReport(rr)) => {
                        let _ = rr.reports().count();
                    }
                    Ok(Body::SourceDescription(s)) => {
                        for ch in s.chunks() {
                            let _ = (ch.items().count(), ch.cname());
                        }
                    }
                    Ok(Body::Goodbye(b)) => {
                        let _ = (b.sources().count(), b.reason());
                    }
                    Ok(Body::App(a)) => {
                        let _ = (a.name(), a.data(), a.ssrc());
                    }
                    Ok(Body::ExtendedReport(x)) => {
                        for b in x.blocks() {
                            let _ = b.voip_metrics();
                        }
                    }
                    Ok(Body::Unknown(_)) | Err(_) => {}
                }
            }
        }
    }

    #[test]
    fn truncated_at_every_prefix_never_panics() {
        let xr = xr();
        for buf in [SR_SDES, RR_BYE, &xr[..]] {
            for n in 0..=buf.len() {
                exercise(&buf[..n]);
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(mut buf in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            exercise(&buf);
            // Also with a plausible first header, to reach the body decoders.
            if buf.len() >= 4 {
                buf[0] = 0x80 | (buf[0] & 0x3f);
                buf[1] = 200 + buf[1] % 8;
                exercise(&buf);
            }
        }
    }
}
