//! Bounded IPv4 / IPv6 fragment reassembly, fed sequentially in capture order.
//!
//! Takes in: the [`Fragment`]s that [`decode`](super::decode) returned (with their [`Ip`]
//! header, timestamp and frame number).
//! Produces: a [`Reassembled`] datagram when the last missing piece arrives; with
//! [`Limits::head_wait_ns`], a [`Truncated`] datagram (the bytes before the first missing piece) for
//! each set that held its first fragment and did not complete; and at the end a [`Report`] of the
//! sets that never completed, the sets dropped by limits or timeout, and the duplicate, overlapping
//! or conflicting fragments seen.
//! Does not: decode the reassembled payload by itself (see [`Reassembled::decode`]), or apply
//! any OS-specific overlap policy: the first copy of a byte wins, and overlaps are counted,
//! because overlapping fragments are themselves evidence (of an attack or a broken stack).
//!
//! Fragments belong together when source, destination, protocol and identification match
//! (RFC 791 §3.2, RFC 8200 §4.5). A set completes when the fragment without "more fragments"
//! has been seen and every byte before its end is present.
//!
//! Memory is bounded by [`Limits`]: the number of open sets, the bytes they hold, the
//! fragments per set and the number of incomplete sets described in the report (a truncated
//! datagram takes over the bytes its set held, until the caller takes it). A set that
//! would exceed a limit evicts the oldest sets; every eviction is counted. The datagram size
//! is capped at 65535 bytes (the IPv4 total length, and the IPv6 payload length without
//! jumbograms); fragments reaching past it are dropped as absurd.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;

use super::{Fragment, Ip, Packet};

/// Largest reassembled payload accepted, in bytes.
pub const MAX_DATAGRAM: u32 = 65535;

/// Most fragments one set may have; a 64 KiB datagram cut into 8-byte pieces would need 8192,
/// which no real stack does.
pub const MAX_FRAGMENTS_PER_SET: usize = 1024;

/// Fixed bookkeeping cost charged per open set against [`Limits::max_bytes`].
const SET_OVERHEAD: usize = 256;

/// Bounds on the memory the [`Defragmenter`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most fragment sets open at once.
    pub max_sets: usize,
    /// Most bytes (payload buffers plus bookkeeping) held by open sets.
    pub max_bytes: usize,
    /// A set still incomplete this long after its first fragment is dropped (nanoseconds).
    pub timeout_ns: i64,
    /// Most incomplete sets described one by one in the [`Report`] (all are counted).
    pub max_reported: usize,
    /// When set, a set that holds its first fragment (offset 0) and got no fragment for this long is
    /// given up and its first bytes are handed on as a [`Truncated`] datagram, as are those of a set
    /// holding its first fragment that is dropped for any other reason (nanoseconds). `None` (the
    /// default): sets wait for [`Limits::timeout_ns`] and nothing is handed on.
    pub head_wait_ns: Option<i64>,
}

impl Default for Limits {
    /// 4096 sets, 64 MiB, 30 s (the Linux `ipfrag_time` default), 1024 described.
    fn default() -> Self {
        Limits {
            max_sets: 4096,
            max_bytes: 64 << 20,
            timeout_ns: 30_000_000_000,
            max_reported: 1024,
            head_wait_ns: None,
        }
    }
}

/// A datagram put back together from its fragments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reassembled {
    /// IP header of the first fragment pushed (addresses and protocol are common to all).
    pub ip: Ip,
    /// The reassembled IP payload (transport header included).
    pub payload: Vec<u8>,
    /// Frame numbers of the fragments, ordered by fragment offset (then frame number),
    /// duplicates included, as Wireshark lists them.
    pub frames: Vec<u64>,
}

impl Reassembled {
    /// Decodes the reassembled payload (transport layer, ICMP quote, tunnels) as if it had
    /// arrived in one packet with header [`Reassembled::ip`]. Stop offsets and the
    /// [`Layers`](super::Layers) count from the start of [`Reassembled::payload`]; the layers
    /// hold no link layer (their link type is [`LinkType::RAW`](super::LinkType::RAW)) and no IP
    /// header for [`Reassembled::ip`], only what the payload holds (tunnelled headers, the
    /// transport header).
    pub fn decode(&self) -> Packet<'_> {
        let mut pkt = Packet::empty(super::LinkType::RAW);
        pkt.ip = Some(self.ip);
        super::packet::Decoder::new(&self.payload, &mut pkt).transport(
            self.ip.proto,
            &self.payload,
            0,
        );
        pkt
    }
}

/// The first bytes of a datagram whose later fragments are missing: the payload is the IP payload
/// from offset 0 up to the first missing byte (the transport header and the head of its payload),
/// the frames those of every fragment the set held, ordered by offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncated {
    /// What is there, decoded like any datagram by [`Reassembled::decode`] (its transport layer then
    /// stops on a payload shorter than its header says).
    pub datagram: Reassembled,
    /// Capture time of the set's latest fragment (as a reassembled datagram has its completing one's).
    pub ts_ns: i64,
}

/// Why a fragment set did not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Incompletion {
    /// No fragment completed it within [`Limits::timeout_ns`].
    TimedOut,
    /// Dropped to make room under [`Limits::max_sets`] or [`Limits::max_bytes`].
    Evicted,
    /// It had more than [`MAX_FRAGMENTS_PER_SET`] fragments.
    TooManyFragments,
    /// Still open when the capture ended.
    OpenAtEnd,
    /// Held its first fragment and got no fragment for [`Limits::head_wait_ns`]: handed on as
    /// [`Truncated`].
    Truncated,
}

/// A fragment set that never completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incomplete {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Protocol.
    pub proto: u8,
    /// Identification.
    pub id: u32,
    /// Frames of the fragments seen, in capture order.
    pub frames: Vec<u64>,
    /// Payload bytes received (without duplicates).
    pub received: u32,
    /// Payload length, if the last fragment was seen.
    pub total: Option<u32>,
    /// Why it did not complete.
    pub why: Incompletion,
}

/// What the [`Defragmenter`] saw, returned by [`Defragmenter::finish`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Datagrams reassembled.
    pub reassembled: u64,
    /// Sets that never completed (timed out, evicted, too many fragments, open at the end).
    pub incomplete_sets: u64,
    /// Of those, sets dropped by timeout.
    pub timed_out: u64,
    /// Of those, sets dropped by [`Limits::max_sets`] or [`Limits::max_bytes`].
    pub evicted: u64,
    /// Of those, sets whose first bytes were handed on as [`Truncated`] datagrams (whatever the reason
    /// they were dropped).
    pub truncated: u64,
    /// The first [`Limits::max_reported`] incomplete sets, ordered by their first frame.
    pub incomplete: Vec<Incomplete>,
    /// Fragments whose bytes were all present already, with the same content.
    pub duplicates: u64,
    /// Fragments overlapping bytes already present partially or with different content
    /// (the first copy was kept).
    pub overlaps: u64,
    /// Fragments disagreeing on where the datagram ends (a second last fragment with another
    /// end, or data past the end).
    pub conflicts: u64,
    /// Fragments dropped because they reach past [`MAX_DATAGRAM`].
    pub absurd: u64,
}

/// Identity of a fragment set (RFC 791 §3.2 / RFC 8200 §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    id: u32,
}

/// One datagram being reassembled.
#[derive(Debug)]
struct Set {
    ip: Ip,
    /// Creation number, to tell a set from a later one with the same key in `order`.
    serial: u64,
    buf: Vec<u8>,
    /// Byte ranges present, sorted, disjoint, not adjacent: `[start, end)`.
    have: Vec<(u32, u32)>,
    total: Option<u32>,
    /// (offset, frame) of every fragment, in arrival order.
    frames: Vec<(u32, u64)>,
    /// The fragment at offset 0 arrived.
    has_head: bool,
    /// Capture time of the latest fragment.
    last_ts: i64,
}

impl Set {
    /// Bytes charged against [`Limits::max_bytes`].
    fn cost(&self) -> usize {
        SET_OVERHEAD
            .saturating_add(self.buf.capacity())
            .saturating_add(self.have.capacity().saturating_mul(8))
            .saturating_add(self.frames.capacity().saturating_mul(16))
    }

    fn received(&self) -> u32 {
        self.have.iter().map(|&(s, e)| e - s).sum()
    }

    fn is_complete(&self) -> bool {
        match (self.total, self.have.first()) {
            (Some(0), _) => true,
            (Some(t), Some(&(0, end))) => end >= t,
            _ => false,
        }
    }

    /// Copies the parts of `data` at `[start, end)` not present yet (first copy wins) and
    /// returns how the fragment related to what was there.
    fn insert(&mut self, start: u32, end: u32, data: &[u8]) -> Overlap {
        let mut overlapped = false;
        let mut differs = false;
        let mut fill = Vec::new();
        let mut cursor = start;
        // Walk the present ranges that intersect [start, end), noting the gaps between them.
        for &(s, e) in &self.have {
            if e <= cursor {
                continue;
            }
            if s >= end {
                break;
            }
            if s > cursor {
                fill.push((cursor, s));
            }
            let (os, oe) = (s.max(start), e.min(end));
            if os < oe {
                overlapped = true;
                let old = self.buf.get(os as usize..oe as usize);
                let new = data.get((os - start) as usize..(oe - start) as usize);
                differs |= old != new;
            }
            cursor = cursor.max(e);
        }
        if cursor < end {
            fill.push((cursor, end));
        }
        if self.buf.len() < end as usize {
            self.buf.resize(end as usize, 0);
        }
        for &(s, e) in &fill {
            let src = data.get((s - start) as usize..(e - start) as usize);
            let dst = self.buf.get_mut(s as usize..e as usize);
            if let (Some(src), Some(dst)) = (src, dst) {
                dst.copy_from_slice(src);
            }
        }
        if start < end {
            self.add_range(start, end);
        }
        if !overlapped {
            Overlap::None
        } else if fill.is_empty() && !differs {
            Overlap::Duplicate
        } else {
            Overlap::Some
        }
    }

    /// Merges `[start, end)` into `have`, keeping it sorted, disjoint and non-adjacent.
    fn add_range(&mut self, start: u32, end: u32) {
        let (mut s, mut e) = (start, end);
        // Ranges touching or overlapping [s, e) are merged into it.
        let first = self.have.partition_point(|&(_, re)| re < s);
        let mut last = first;
        while let Some(&(rs, re)) = self.have.get(last) {
            if rs > e {
                break;
            }
            s = s.min(rs);
            e = e.max(re);
            last += 1;
        }
        self.have.splice(first..last, std::iter::once((s, e)));
    }
}

/// How a fragment related to the bytes already present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Overlap {
    None,
    Duplicate,
    Some,
}

/// Reassembles IP fragments pushed in capture order, within [`Limits`].
#[derive(Debug)]
pub struct Defragmenter {
    limits: Limits,
    sets: BTreeMap<Key, Set>,
    /// Sets in creation order (for timeouts and eviction); may hold stale entries of sets
    /// already gone, recognised by their serial and compacted when the queue grows.
    order: VecDeque<(i64, u64, Key)>,
    /// Fragments of sets holding their first fragment, by time (for [`Limits::head_wait_ns`]); an entry
    /// is stale when its set is gone (as in `order`) or got a later fragment.
    heads: VecDeque<(i64, u64, Key)>,
    /// Truncated datagrams not yet taken by [`Defragmenter::take_truncated`].
    truncated: Vec<Truncated>,
    next_serial: u64,
    bytes: usize,
    report: Report,
}

impl Defragmenter {
    /// A reassembler with the given limits.
    pub fn new(limits: Limits) -> Self {
        Defragmenter {
            limits,
            sets: BTreeMap::new(),
            order: VecDeque::new(),
            heads: VecDeque::new(),
            truncated: Vec::new(),
            next_serial: 0,
            bytes: 0,
            report: Report::default(),
        }
    }

    /// Adds one fragment; returns the datagram when this fragment completes it.
    ///
    /// The set is identified by (src, dst, proto, id); `ts_ns` is the capture time in
    /// nanoseconds since the epoch and `frame` the 1-based frame number of this fragment.
    pub fn push(
        &mut self,
        ts_ns: i64,
        frame: u64,
        ip: &Ip,
        frag: &Fragment<'_>,
    ) -> Option<Reassembled> {
        self.expire(ts_ns);
        let start = frag.offset;
        let end = u32::try_from(frag.payload.len())
            .ok()
            .and_then(|len| start.checked_add(len))
            .filter(|&end| end <= MAX_DATAGRAM);
        let Some(end) = end else {
            self.report.absurd += 1;
            return None;
        };
        let key = Key {
            src: ip.src,
            dst: ip.dst,
            proto: frag.proto,
            id: frag.id,
        };
        if !self.sets.contains_key(&key) {
            while self.sets.len() >= self.limits.max_sets.max(1) {
                if !self.evict_oldest() {
                    break;
                }
            }
            let serial = self.next_serial;
            self.next_serial += 1;
            let set = Set {
                ip: Ip {
                    proto: frag.proto,
                    ..*ip
                },
                serial,
                buf: Vec::new(),
                have: Vec::new(),
                total: None,
                frames: Vec::new(),
                has_head: false,
                last_ts: ts_ns,
            };
            self.bytes = self.bytes.saturating_add(set.cost());
            self.sets.insert(key, set);
            self.order.push_back((ts_ns, serial, key));
            self.compact_order();
        }
        let set = self.sets.get_mut(&key)?;
        let old_cost = set.cost();
        if !frag.more {
            match set.total {
                Some(t) if t != end => self.report.conflicts += 1,
                Some(_) => {}
                None => {
                    if set.have.last().is_some_and(|&(_, e)| e > end) {
                        self.report.conflicts += 1;
                    }
                    set.total = Some(end);
                }
            }
        } else if set.total.is_some_and(|t| end > t) {
            self.report.conflicts += 1;
        }
        if set.buf.capacity() < end as usize {
            set.buf.reserve_exact(end as usize - set.buf.len());
        }
        match set.insert(start, end, frag.payload) {
            Overlap::None => {}
            Overlap::Duplicate => self.report.duplicates += 1,
            Overlap::Some => self.report.overlaps += 1,
        }
        set.frames.push((start, frame));
        set.last_ts = set.last_ts.max(ts_ns);
        set.has_head |= start == 0;
        if set.has_head && self.limits.head_wait_ns.is_some() {
            self.heads.push_back((ts_ns, set.serial, key));
        }
        let too_many = set.frames.len() > MAX_FRAGMENTS_PER_SET;
        let complete = set.is_complete();
        let new_cost = set.cost();
        self.bytes = self.bytes.saturating_sub(old_cost).saturating_add(new_cost);
        if too_many {
            self.drop_set(&key, Incompletion::TooManyFragments);
            return None;
        }
        if !complete {
            // Stay under the byte budget: evict older sets, or this one if alone it is too big.
            while self.bytes > self.limits.max_bytes {
                if !self.evict_oldest_except(key) {
                    self.drop_set(&key, Incompletion::Evicted);
                    break;
                }
            }
            return None;
        }
        let set = self.sets.remove(&key)?;
        self.bytes = self.bytes.saturating_sub(set.cost());
        self.report.reassembled += 1;
        let mut frames = set.frames;
        frames.sort_unstable();
        let mut payload = set.buf;
        payload.truncate(set.total.unwrap_or(0) as usize);
        Some(Reassembled {
            ip: set.ip,
            payload,
            frames: frames.into_iter().map(|(_, f)| f).collect(),
        })
    }

    /// Moves the clock to `now` without a fragment: drops the sets due (timed out, or holding their
    /// first fragment and quiet for [`Limits::head_wait_ns`]), whose truncated datagrams
    /// [`Defragmenter::take_truncated`] then hands out.
    pub fn tick(&mut self, now: i64) {
        self.expire(now);
    }

    /// Whether a set was given up since the last [`Defragmenter::take_truncated`] (the fold asks
    /// before every event).
    pub fn has_truncated(&self) -> bool {
        !self.truncated.is_empty()
    }

    /// The truncated datagrams of the sets given up since the last call, in the order they were.
    pub fn take_truncated(&mut self) -> Vec<Truncated> {
        std::mem::take(&mut self.truncated)
    }

    /// Gives up every set still open ([`Incompletion::OpenAtEnd`]); their truncated datagrams are
    /// then taken as usual.
    pub fn close(&mut self) {
        let keys: Vec<Key> = self.sets.keys().copied().collect();
        for key in keys {
            self.drop_set(&key, Incompletion::OpenAtEnd);
        }
    }

    /// Ends reassembly: every set still open is reported as [`Incompletion::OpenAtEnd`].
    pub fn finish(mut self) -> Report {
        self.close();
        self.report
            .incomplete
            .sort_by_key(|i| i.frames.first().copied());
        self.report
    }

    /// Drops the sets whose first fragment is older than the timeout.
    fn expire(&mut self, now: i64) {
        if let Some(wait) = self.limits.head_wait_ns {
            while let Some(&(ts, serial, key)) = self.heads.front() {
                if now.saturating_sub(ts) <= wait {
                    break;
                }
                self.heads.pop_front();
                let quiet = |s: &Set| s.serial == serial && now.saturating_sub(s.last_ts) > wait;
                if self.sets.get(&key).is_some_and(quiet) {
                    self.drop_set(&key, Incompletion::Truncated);
                }
            }
        }
        while let Some(&(ts, serial, key)) = self.order.front() {
            if now.saturating_sub(ts) <= self.limits.timeout_ns {
                break;
            }
            self.order.pop_front();
            if self.sets.get(&key).is_some_and(|s| s.serial == serial) {
                self.drop_set(&key, Incompletion::TimedOut);
            }
        }
    }

    /// Drops the oldest open set; false when there is none.
    fn evict_oldest(&mut self) -> bool {
        while let Some((_, serial, key)) = self.order.pop_front() {
            if self.sets.get(&key).is_some_and(|s| s.serial == serial) {
                self.drop_set(&key, Incompletion::Evicted);
                return true;
            }
        }
        false
    }

    /// Drops the oldest open set other than `keep`; false when there is none.
    fn evict_oldest_except(&mut self, keep: Key) -> bool {
        let found = self.order.iter().position(|&(_, serial, key)| {
            key != keep && self.sets.get(&key).is_some_and(|s| s.serial == serial)
        });
        match found {
            Some(i) => {
                if let Some((_, _, key)) = self.order.remove(i) {
                    self.drop_set(&key, Incompletion::Evicted);
                }
                true
            }
            None => false,
        }
    }

    /// Removes stale queue entries once they outnumber the open sets (amortised O(1)).
    fn compact_order(&mut self) {
        if self.order.len() > 2 * self.sets.len() + 64 {
            let sets = &self.sets;
            self.order
                .retain(|(_, serial, key)| sets.get(key).is_some_and(|s| s.serial == *serial));
        }
        if self.heads.len() > 2 * self.sets.len() + 64 {
            let sets = &self.sets;
            self.heads.retain(|(ts, serial, key)| {
                sets.get(key)
                    .is_some_and(|s| s.serial == *serial && s.last_ts == *ts)
            });
        }
    }

    /// Removes a set and records it as incomplete.
    fn drop_set(&mut self, key: &Key, why: Incompletion) {
        let Some(set) = self.sets.remove(key) else {
            return;
        };
        self.bytes = self.bytes.saturating_sub(set.cost());
        self.report.incomplete_sets += 1;
        match why {
            Incompletion::TimedOut => self.report.timed_out += 1,
            Incompletion::Evicted => self.report.evicted += 1,
            Incompletion::TooManyFragments | Incompletion::OpenAtEnd | Incompletion::Truncated => {}
        }
        if self.report.incomplete.len() < self.limits.max_reported {
            let received = set.received();
            let mut frames: Vec<u64> = set.frames.iter().map(|&(_, f)| f).collect();
            frames.sort_unstable();
            self.report.incomplete.push(Incomplete {
                src: key.src,
                dst: key.dst,
                proto: key.proto,
                id: key.id,
                frames,
                received,
                total: set.total,
                why,
            });
        }
        if let (Some(_), true, Some(&(0, end))) =
            (self.limits.head_wait_ns, set.has_head, set.have.first())
        {
            let ts_ns = set.last_ts;
            self.report.truncated += 1;
            let mut frames = set.frames;
            frames.sort_unstable();
            let mut payload = set.buf;
            payload.truncate(end as usize);
            self.truncated.push(Truncated {
                datagram: Reassembled {
                    ip: set.ip,
                    payload,
                    frames: frames.into_iter().map(|(_, f)| f).collect(),
                },
                ts_ns,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{ipv4_full, ipv6, udp};
    use super::super::{decode, LinkType, L4};
    use super::*;
    use proptest::prelude::*;

    const SIP: &[u8] = b"INVITE sip:bob@example.com SIP/2.0\r\nContent-Length: 0\r\n\r\n";

    /// Cuts `data` into IPv4 fragment frames of `chunk` bytes (a multiple of 8).
    fn v4_fragments(id: u16, data: &[u8], chunk: usize) -> Vec<Vec<u8>> {
        data.chunks(chunk)
            .enumerate()
            .map(|(i, c)| {
                let more = (i + 1) * chunk < data.len();
                let frag = ((i * chunk / 8) as u16) | if more { 0x2000 } else { 0 };
                ipv4_full(17, id, frag, &[], c)
            })
            .collect()
    }

    /// Pushes one raw IP frame; panics if it is not a fragment.
    fn push(d: &mut Defragmenter, ts: i64, frame: u64, bytes: &[u8]) -> Option<Reassembled> {
        let p = decode(LinkType::RAW, bytes);
        let (Some(ip), L4::Fragment(f)) = (p.ip, p.l4) else {
            panic!("not a fragment: {p:?}")
        };
        d.push(ts, frame, &ip, &f)
    }

    fn check_udp(r: &Reassembled) {
        let p = r.decode();
        let L4::Udp(u) = p.l4 else { panic!("{p:?}") };
        assert_eq!((u.src_port, u.dst_port, u.payload), (5060, 5080, SIP));
        assert_eq!(p.stop, None);
    }

    #[test]
    fn in_order_and_out_of_order() {
        let data = udp(5060, 5080, SIP);
        let frags = v4_fragments(1, &data, 24);
        assert_eq!(frags.len(), 3);
        for order in [[0, 1, 2], [2, 0, 1], [1, 2, 0]] {
            let mut d = Defragmenter::new(Limits::default());
            let mut out = None;
            for (n, &i) in order.iter().enumerate() {
                let r = push(&mut d, 0, 10 + i as u64, &frags[i]);
                assert_eq!(r.is_some(), n == 2);
                out = out.or(r);
            }
            let r = out.expect("reassembled");
            assert_eq!(r.payload, data);
            assert_eq!(r.frames, [10, 11, 12]);
            assert_eq!(r.ip.proto, 17);
            check_udp(&r);
            let rep = d.finish();
            assert_eq!(
                (
                    rep.reassembled,
                    rep.incomplete_sets,
                    rep.overlaps,
                    rep.duplicates
                ),
                (1, 0, 0, 0)
            );
        }
    }

    #[test]
    fn ipv6_fragments_reassemble() {
        let data = udp(5060, 5080, SIP);
        let frag = |off: usize, more: bool, part: &[u8]| {
            let v = ((off / 8) as u16) << 3 | u16::from(more);
            let hdr = [&[17u8, 0][..], &v.to_be_bytes(), &77u32.to_be_bytes()].concat();
            ipv6(44, &[&hdr[..], part].concat())
        };
        let mut d = Defragmenter::new(Limits::default());
        assert!(push(&mut d, 0, 2, &frag(32, false, &data[32..])).is_none());
        let r = push(&mut d, 0, 1, &frag(0, true, &data[..32])).expect("complete");
        assert_eq!(r.frames, [1, 2]);
        check_udp(&r);
    }

    #[test]
    fn duplicates_and_overlaps_first_wins() {
        let data = udp(5060, 5080, SIP);
        let frags = v4_fragments(3, &data, 40);
        assert_eq!(frags.len(), 2);
        let mut d = Defragmenter::new(Limits::default());
        assert!(push(&mut d, 0, 1, &frags[0]).is_none());
        assert!(push(&mut d, 0, 2, &frags[0]).is_none()); // duplicate
                                                          // Overlapping fragment [32, 48) with different bytes: only [40, 48) is new.
        let evil = [b'X'; 16];
        assert!(push(&mut d, 0, 3, &ipv4_full(17, 3, 0x2000 | 4, &[], &evil)).is_none());
        let r = push(&mut d, 0, 4, &frags[1]).expect("complete");
        assert_eq!(&r.payload[..40], &data[..40]);
        assert_eq!(&r.payload[40..48], b"XXXXXXXX");
        assert_eq!(&r.payload[48..], &data[48..]);
        assert_eq!(r.frames, [1, 2, 3, 4]);
        let rep = d.finish();
        assert_eq!((rep.duplicates, rep.overlaps), (1, 2));
    }

    #[test]
    fn incomplete_set_is_reported_at_finish_and_timeout() {
        let data = udp(5060, 5080, SIP);
        let frags = v4_fragments(4, &data, 24);
        let mut d = Defragmenter::new(Limits::default());
        push(&mut d, 0, 5, &frags[0]);
        push(&mut d, 1, 6, &frags[2]);
        let rep = d.finish();
        assert_eq!(rep.incomplete_sets, 1);
        let inc = &rep.incomplete[0];
        assert_eq!(
            (inc.id, inc.proto, inc.why),
            (4, 17, Incompletion::OpenAtEnd)
        );
        assert_eq!(inc.frames, [5, 6]);
        assert_eq!(inc.received, (24 + data.len() - 48) as u32);
        assert_eq!(inc.total, Some(data.len() as u32));

        let limits = Limits {
            timeout_ns: 1_000,
            ..Limits::default()
        };
        let mut d = Defragmenter::new(limits);
        push(&mut d, 0, 1, &frags[0]);
        push(&mut d, 500, 2, &frags[1]);
        // Too late: the set timed out, and this fragment starts a new one.
        assert!(push(&mut d, 2_000, 3, &frags[2]).is_none());
        let rep = d.finish();
        assert_eq!((rep.timed_out, rep.incomplete_sets), (1, 2));
        assert_eq!(rep.incomplete[0].why, Incompletion::TimedOut);
        assert_eq!(rep.incomplete[0].frames, [1, 2]);
    }

    #[test]
    fn limits_evict_oldest_sets() {
        let data = udp(5060, 5080, SIP);
        let limits = Limits {
            max_sets: 2,
            ..Limits::default()
        };
        let mut d = Defragmenter::new(limits);
        for id in 0..5u16 {
            push(
                &mut d,
                0,
                u64::from(id) + 1,
                &v4_fragments(id, &data, 24)[0],
            );
        }
        assert_eq!(d.sets.len(), 2);
        let rep = d.finish();
        assert_eq!((rep.evicted, rep.incomplete_sets), (3, 5));
        assert_eq!(
            rep.incomplete
                .iter()
                .map(|i| i.frames[0])
                .collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );

        let limits = Limits {
            max_bytes: 1000,
            max_reported: 1,
            ..Limits::default()
        };
        let mut d = Defragmenter::new(limits);
        for id in 0..10u16 {
            push(&mut d, 0, u64::from(id), &v4_fragments(id, &data, 24)[0]);
            assert!(d.bytes <= 1000, "{}", d.bytes);
        }
        let rep = d.finish();
        assert!(rep.evicted > 0);
        assert_eq!(rep.incomplete.len(), 1);
        assert_eq!(rep.incomplete_sets, 10);
    }

    #[test]
    fn a_set_missing_later_fragments_hands_on_its_first_bytes() {
        let data = udp(5060, 5080, SIP);
        let frags = v4_fragments(6, &data, 24);
        let limits = Limits {
            head_wait_ns: Some(100),
            ..Limits::default()
        };
        let mut d = Defragmenter::new(limits);
        // The middle fragment is lost: the first and the last arrive.
        push(&mut d, 0, 1, &frags[2]);
        push(&mut d, 10, 2, &frags[0]);
        d.tick(110);
        assert!(d.take_truncated().is_empty(), "not yet due");
        d.tick(111);
        let t = d.take_truncated();
        assert_eq!(t.len(), 1);
        assert_eq!((t[0].ts_ns, &t[0].datagram.frames[..]), (10, &[2, 1][..]));
        assert_eq!(t[0].datagram.payload, data[..24]);
        let p = t[0].datagram.decode();
        let L4::Udp(u) = p.l4 else { panic!("{p:?}") };
        assert_eq!((u.src_port, u.payload), (5060, &SIP[..16]));
        // A set without its first fragment waits for the timeout and hands nothing on; one whose
        // first fragment is there when the capture ends does.
        push(&mut d, 200, 3, &frags[1]);
        push(&mut d, 200, 4, &v4_fragments(7, &data, 24)[0]);
        d.close();
        let t = d.take_truncated();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].datagram.frames, [4]);
        let rep = d.finish();
        assert_eq!((rep.incomplete_sets, rep.truncated), (3, 2));
        assert_eq!(rep.incomplete[0].why, Incompletion::Truncated);
        // The wait runs from the latest fragment: a set arriving slowly, each fragment within the
        // wait of the one before, completes.
        let mut d = Defragmenter::new(limits);
        let slow = v4_fragments(8, &data, 24);
        for (i, f) in slow.iter().enumerate() {
            d.tick(90 * i as i64);
            let r = push(&mut d, 90 * i as i64, i as u64 + 1, f);
            assert_eq!(r.is_some(), i + 1 == slow.len());
        }
        assert!(d.take_truncated().is_empty());
        // Without head_wait_ns nothing is handed on.
        let mut d = Defragmenter::new(Limits::default());
        push(&mut d, 0, 1, &frags[0]);
        d.close();
        assert!(d.take_truncated().is_empty());
    }

    #[test]
    fn absurd_offsets_are_dropped() {
        let mut d = Defragmenter::new(Limits::default());
        // Offset 8191 * 8 = 65528, plus 16 bytes: past 65535.
        let f = ipv4_full(17, 9, 0x1fff, &[], &[0; 16]);
        assert!(push(&mut d, 0, 1, &f).is_none());
        let rep = d.finish();
        assert_eq!((rep.absurd, rep.incomplete_sets), (1, 0));
    }

    #[test]
    fn conflicting_ends_are_counted() {
        let data = udp(5060, 5080, SIP);
        let frags = v4_fragments(5, &data, 40);
        let mut d = Defragmenter::new(Limits::default());
        push(&mut d, 0, 1, &frags[1]);
        // Another "last" fragment, ending at 16 instead.
        push(&mut d, 0, 2, &ipv4_full(17, 5, 1, &[], &data[8..16]));
        let r = push(&mut d, 0, 3, &frags[0]).expect("complete");
        assert_eq!(r.payload, data);
        let rep = d.finish();
        assert_eq!((rep.conflicts, rep.overlaps), (1, 1));
    }

    proptest! {
        #[test]
        fn arbitrary_fragments_stay_bounded(
            pushes in prop::collection::vec((0u32..4, 0u32..9000, any::<bool>(), 0usize..64, 0i64..100), 1..200)
        ) {
            let limits = Limits { max_sets: 3, max_bytes: 40_000, timeout_ns: 50, max_reported: 4, head_wait_ns: Some(20) };
            let mut d = Defragmenter::new(limits);
            let ip = Ip { src: [1, 1, 1, 1].into(), dst: [2, 2, 2, 2].into(), proto: 17, ttl: 1 };
            let data = [7u8; 64];
            let mut ts = 0;
            for (n, (id, off, more, len, dt)) in pushes.into_iter().enumerate() {
                ts += dt;
                let frag = Fragment { id, offset: off * 8, more, proto: 17, payload: &data[..len] };
                if let Some(r) = d.push(ts, n as u64, &ip, &frag) {
                    prop_assert!(r.payload.len() <= MAX_DATAGRAM as usize);
                }
                prop_assert!(d.sets.len() <= 3);
                prop_assert!(d.bytes <= 40_000);
                for t in d.take_truncated() {
                    prop_assert!(t.ts_ns <= ts && !t.datagram.frames.is_empty());
                    prop_assert!(t.datagram.payload.len() <= MAX_DATAGRAM as usize);
                }
            }
            let rep = d.finish();
            prop_assert!(rep.incomplete.len() <= 4);
        }
    }
}
