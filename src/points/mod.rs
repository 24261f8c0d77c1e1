//! Several capture points, one truth: the analyses of captures taken at different points of the
//! same calls (on the proxy and on the application server, at a mirror port and on a host), put
//! together, to say at which hop each packet a diagnosis rests on was lost.
//!
//! Takes in: one [`Input`] per point: its name, its own [`Analysis`] (each point is analysed alone,
//! with its own clock and frame numbers) and its files, read again here.
//! Produces: [`Points`]: the points with their clock offset from the first point and its
//! uncertainty (`matching`), what each pair of points has in common (packets, hop count, address
//! translations), and per call ([`PointsCall`], matched by Call-ID, or present at one point only):
//! each of its SIP messages with the frame that carried it at every point (`seen_at`), the RTP
//! between points (loss and one-way delay), and the verdicts ([`Verdict`], `where.*` codes) that say
//! where a packet died (`verdicts`).
//!
//! How: every IP packet of every point is reduced to an identity that forwarding and NAT keep
//! (`packets`); a packet seen at two points has the same identity at both; the TTL difference tells
//! which point was nearer the sender. A packet a point holds that another point, on the way to its
//! destination and capturing at the time, does not, was lost between them.
//! Does not: assume synchronised clocks, nor re-run any diagnosis: each point's findings stay its
//! analysis's; the verdicts add the place.

mod matching;
mod packets;
mod verdicts;

use std::collections::HashMap;
use std::net::SocketAddr;

use rayon::prelude::*;

use crate::analysis::Analysis;
use crate::capture::CaptureFile;
use crate::diagnose::Severity;
pub use matching::Link;
pub use packets::{Packets, Seen};

/// One capture point given to [`merge`].
pub struct Input<'f> {
    /// The name the user gave it (`--at proxy=proxy.pcap`).
    pub name: String,
    pub analysis: Analysis,
    pub files: &'f [CaptureFile],
}

/// The capture points of a run, what they have in common, and the calls they saw.
#[derive(Debug)]
pub struct Points {
    /// In the order given; the first is the reference clock.
    pub points: Vec<Point>,
    /// Each unordered pair of points (first < second).
    pub pairs: Vec<Pair>,
    /// Calls by the time the first point that saw them saw their first message (reference clock).
    pub calls: Vec<PointsCall>,
}

/// One capture point.
#[derive(Debug)]
pub struct Point {
    pub name: String,
    /// The point's own analysis (its calls, findings and frame numbers).
    pub analysis: Analysis,
    /// IP packets with a transport layer.
    pub ip_packets: u64,
    /// Packets seen twice at this point (same identity).
    pub duplicates: u64,
    /// First and last packet, in the point's own clock.
    pub span: Option<(i64, i64)>,
    /// This point's clock minus the reference's (0 for the reference), `None` when nothing links
    /// it to the reference.
    pub offset: Option<ClockOffset>,
}

/// How far a point's clock is from another's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockOffset {
    /// Add to a time of the reference to get the same instant on this point's clock.
    pub ns: i64,
    /// Half the width of the interval the offset lies in; `None` when packets went one way only
    /// (the estimate then assumes no delay). Events closer than this are not ordered.
    pub uncertainty_ns: Option<i64>,
    /// False when the bounds crossed (the TTLs lied, or the clocks drifted during the capture).
    pub consistent: bool,
}

/// An address translation between two points, seen on packets both saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Translation {
    pub a_src: SocketAddr,
    pub a_dst: SocketAddr,
    pub b_src: SocketAddr,
    pub b_dst: SocketAddr,
    pub packets: u64,
}

/// What two points have in common.
#[derive(Debug)]
pub struct Pair {
    pub a: usize,
    pub b: usize,
    /// Packets of `a` also seen at `b`.
    pub matched: u64,
    /// `b`'s clock minus `a`'s.
    pub offset: Option<ClockOffset>,
    /// Routers between them (the TTL difference).
    pub hops: Option<u8>,
    /// Addresses as `a` saw them → as `b` saw them.
    pub translations: Vec<Translation>,
}

/// One call as every point saw it.
#[derive(Debug)]
pub struct PointsCall {
    pub call_id: String,
    /// By point: the call's position in that point's analysis (`None`: no SIP of it there).
    pub at: Vec<Option<usize>>,
    /// Its SIP messages and the SYNs, ICMP and others its verdicts rest on, in reference time.
    pub messages: Vec<MessageAt>,
    /// RTP between points.
    pub streams: Vec<StreamBetween>,
    /// Where packets died, most severe first.
    pub verdicts: Vec<Verdict>,
}

/// A packet of a call (a SIP message, a SYN) with where it was seen.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageAt {
    /// As a ladder labels it: `INVITE`, `200 OK`, `SYN`.
    pub label: String,
    /// When the first point that saw it saw it, in the reference clock (when its offset is known).
    pub ts_ns: i64,
    /// As the first point that saw it names them.
    pub src: SocketAddr,
    pub dst: SocketAddr,
    /// By point: the frame that carried it there.
    pub seen_at: Vec<Option<u64>>,
    /// By point: not seen there, though the point lies on its way after the one that saw it and
    /// was capturing then (it was lost before that point).
    pub missing_at: Vec<bool>,
}

/// RTP of one direction as it went from one point to another.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamBetween {
    /// As the sending point names them.
    pub src: SocketAddr,
    pub dst: SocketAddr,
    /// The point nearer the sender, and the other.
    pub from: usize,
    pub to: usize,
    /// Packets seen at `from` while `to` was capturing, and how many of them `to` saw.
    pub sent: u64,
    pub received: u64,
    /// Frames at `from`: the first and last of the stream.
    pub frames: (u64, u64),
    /// One-way delay from `from` to `to` (clock offset applied): min, mean, max; and the mean
    /// change of delay between consecutive packets (jitter added between the points).
    pub delay_ns: Option<(i64, i64, i64)>,
    pub jitter_ns: Option<i64>,
    /// Routers between the points on this stream's way (TTL difference).
    pub hops: Option<u8>,
}

/// Where a packet died, or that it did not: one statement about one call.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// `where.lost_between`, `where.unanswered_past`, `where.not_sent`.
    pub code: &'static str,
    pub severity: Severity,
    pub summary: String,
    pub cause: String,
    /// By point: the frames it rests on there.
    pub frames: Vec<(usize, Vec<u64>)>,
}

/// Puts the points together (see the module doc).
pub fn merge(inputs: Vec<Input<'_>>) -> Points {
    // Each point's table, then each ordered pair's link, in parallel (they are independent).
    let tables: Vec<Packets> = inputs
        .par_iter()
        .map(|i| Packets::read(&i.analysis.captures, i.files))
        .collect();
    let ordered: Vec<(usize, usize)> = (0..tables.len())
        .flat_map(|a| {
            (0..tables.len())
                .filter(move |&b| b != a)
                .map(move |b| (a, b))
        })
        .collect();
    let links: HashMap<(usize, usize), Link> = ordered
        .into_par_iter()
        .map(|(a, b)| ((a, b), Link::between(&tables[a], &tables[b])))
        .collect();
    let pairs = (0..tables.len())
        .flat_map(|a| (a + 1..tables.len()).map(move |b| (a, b)))
        .map(|(a, b)| {
            let l = &links[&(a, b)];
            Pair {
                a,
                b,
                matched: l.matched,
                offset: l.offset,
                hops: l.hops,
                translations: l.translations.clone(),
            }
        })
        .collect();
    let points: Vec<Point> = inputs
        .into_iter()
        .zip(&tables)
        .enumerate()
        .map(|(i, (input, t))| Point {
            name: input.name,
            analysis: input.analysis,
            ip_packets: t.seen.len() as u64,
            duplicates: t.duplicates(),
            span: t.span,
            offset: if i == 0 {
                Some(ClockOffset {
                    ns: 0,
                    uncertainty_ns: Some(0),
                    consistent: true,
                })
            } else {
                links.get(&(0, i)).and_then(|l| l.offset)
            },
        })
        .collect();
    let calls = verdicts::calls(&points, &tables, &links);
    Points {
        points,
        pairs,
        calls,
    }
}

impl Points {
    /// Whether no two points share a packet: they saw different traffic (or different times).
    pub fn nothing_in_common(&self) -> bool {
        self.points.len() > 1 && self.pairs.iter().all(|p| p.matched == 0)
    }
}
