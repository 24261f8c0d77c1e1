//! Capture vantage: what the capture point can see, inferred from the VoIP traffic as it goes by.
//!
//! Takes the addresses of each SIP message, TCP segment, RTP/STUN/UDPTL flow and ICMP error the
//! engine handles (RTP once per flow and chunk, not per packet), and the IP TTL and source MAC of SIP
//! over UDP; produces a [`Vantage`]: the hosts seen, whether each sent and received, the TTLs and
//! MAC its packets arrived with, and the address every packet so far was from or to — when there is
//! one, the capture was taken at that host (its interface or its link), and traffic between other
//! hosts cannot be on it. Whether RTP was seen at all is the media tracker's (`media::Tracker`).
//! The facts are about the capture *so far*: a call is judged with what had been seen when it was
//! finalized. Memory is bounded by [`MAX_HOSTS`]; further distinct hosts are estimated by linear
//! counting over a fixed bitmap (`Beyond`), since counting packets would count each host many times.

use std::collections::hash_map::Entry;
use std::net::IpAddr;

use rustc_hash::FxHashMap;

/// Hosts remembered; further ones are counted.
pub const MAX_HOSTS: usize = 4096;
/// Bits of the bitmap that estimates the hosts beyond [`MAX_HOSTS`] (128 KiB, made when first needed):
/// within about 1 % up to a few million hosts.
const BEYOND_BITS: usize = 1 << 20;

/// One host the capture saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Host {
    pub ip: IpAddr,
    /// It sent packets the capture saw / packets to it were seen.
    pub sends: bool,
    pub receives: bool,
    /// The lowest and highest TTL (hop limit) its SIP over UDP arrived with.
    pub ttl: Option<(u8, u8)>,
    /// The source MAC its SIP over UDP arrived with (the last router's, when it is not on this link).
    pub mac: Option<[u8; 6]>,
}

impl Host {
    /// Routers between the host and the capture point, from the TTL its packets arrived with and
    /// the usual initial TTLs (64 Linux/macOS, 128 Windows, 255 network gear; 32 old stacks).
    pub fn hops(&self) -> Option<u8> {
        let (_, max) = self.ttl?;
        [32u8, 64, 128, 255]
            .into_iter()
            .find(|&initial| max <= initial)
            .map(|initial| initial - max)
    }
}

/// What the capture point could see.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vantage {
    /// The hosts seen, by address.
    pub hosts: Vec<Host>,
    /// Distinct hosts beyond [`MAX_HOSTS`], estimated (exact while few: linear counting).
    pub more_hosts: u64,
    /// The addresses every packet so far was from or to: one (the capture was taken at that
    /// host), two (only those two talked), or none (traffic between several pairs: a mirror port,
    /// a shared segment or a router's interface).
    pub common: Vec<IpAddr>,
    /// RTP of some call reached the capture point.
    pub rtp_seen: bool,
}

impl Vantage {
    /// The host the capture was taken at, when every packet was from or to it.
    pub fn capture_host(&self) -> Option<IpAddr> {
        match self.common.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }
}

/// The distinct addresses beyond [`MAX_HOSTS`], by linear counting (Whang, Vander-Zanden and Taylor,
/// 1990): each address sets one bit of a fixed bitmap, chosen by its hash, and `m·ln(m/zero bits)`
/// estimates how many set them.
struct Beyond {
    bits: Box<[u64]>,
    set: usize,
}

impl Beyond {
    fn new() -> Beyond {
        Beyond {
            bits: vec![0; BEYOND_BITS / 64].into_boxed_slice(),
            set: 0,
        }
    }

    fn add(&mut self, ip: IpAddr) {
        let v = match ip {
            IpAddr::V4(a) => u128::from(u32::from(a)),
            IpAddr::V6(a) => u128::from(a),
        };
        let i = usize::try_from(mix(v) % BEYOND_BITS as u64).unwrap_or(0);
        let (word, bit) = (i / 64, 1u64 << (i % 64));
        if self.bits[word] & bit == 0 {
            self.bits[word] |= bit;
            self.set += 1;
        }
    }

    fn estimate(&self) -> u64 {
        let m = BEYOND_BITS as f64;
        // A full bitmap says only "at least this many": its estimate with one bit left.
        let zero = (BEYOND_BITS - self.set).max(1) as f64;
        (m * (m / zero).ln()).round() as u64
    }
}

/// A 128-bit address folded and mixed into 64 well-spread bits (splitmix64's finaliser). FxHash,
/// the crate's map hasher, spreads consecutive addresses too unevenly for the estimate (2 % low on
/// 50 000 of them).
fn mix(v: u128) -> u64 {
    let mut x = (v as u64) ^ ((v >> 64) as u64).rotate_left(32);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Builds the [`Vantage`] as the capture goes by.
#[derive(Default)]
pub struct Tracker {
    hosts: FxHashMap<IpAddr, Host>,
    /// The hosts beyond [`MAX_HOSTS`], made when the first one comes.
    beyond: Option<Beyond>,
    /// `None` before the first packet.
    common: Option<Vec<IpAddr>>,
}

impl Tracker {
    fn host(&mut self, ip: IpAddr) -> Option<&mut Host> {
        let room = self.hosts.len() < MAX_HOSTS;
        match self.hosts.entry(ip) {
            Entry::Occupied(host) => Some(host.into_mut()),
            Entry::Vacant(place) if room => Some(place.insert(Host {
                ip,
                sends: false,
                receives: false,
                ttl: None,
                mac: None,
            })),
            Entry::Vacant(_) => {
                self.beyond.get_or_insert_with(Beyond::new).add(ip);
                None
            }
        }
    }

    /// A packet (or the first packet of a flow) from `src` to `dst`.
    pub fn packet(&mut self, src: IpAddr, dst: IpAddr) {
        match &mut self.common {
            None => {
                let mut both = vec![src];
                if dst != src {
                    both.push(dst);
                }
                self.common = Some(both);
            }
            Some(common) => common.retain(|a| *a == src || *a == dst),
        }
        if let Some(h) = self.host(src) {
            h.sends = true;
        }
        if let Some(h) = self.host(dst) {
            h.receives = true;
        }
    }

    /// What the IP and link layers said about a sender: the TTL its packet arrived with and its
    /// source MAC.
    pub fn sender(&mut self, src: IpAddr, ttl: u8, mac: Option<[u8; 6]>) {
        if let Some(h) = self.host(src) {
            h.ttl = Some(
                h.ttl
                    .map_or((ttl, ttl), |(lo, hi)| (lo.min(ttl), hi.max(ttl))),
            );
            if mac.is_some() {
                h.mac = mac;
            }
        }
    }

    /// The host the capture was taken at so far, when every packet was from or to it.
    pub fn capture_host(&self) -> Option<IpAddr> {
        match self.common.as_deref() {
            Some([one]) => Some(*one),
            _ => None,
        }
    }

    /// The vantage as it stands; `rtp_seen` from the media tracker.
    pub fn vantage(&self, rtp_seen: bool) -> Vantage {
        let mut hosts: Vec<Host> = self.hosts.values().copied().collect();
        hosts.sort_by_key(|h| h.ip);
        Vantage {
            hosts,
            more_hosts: self.beyond.as_ref().map_or(0, Beyond::estimate),
            common: self.common.clone().unwrap_or_default(),
            rtp_seen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_beyond_the_limit_are_estimated_once_each_not_per_packet() {
        let mut t = Tracker::default();
        let server = ip("192.0.2.1");
        for round in 0..3 {
            for i in 0..(MAX_HOSTS as u32 + 50_000) {
                t.packet(nth(i), server);
            }
            let more = t.vantage(false).more_hosts;
            // 50 000 + 1 - 1: the server holds one of the MAX_HOSTS places.
            assert!((49_500..=50_500).contains(&more), "round {round}: {more}");
        }
        assert_eq!(t.vantage(false).hosts.len(), MAX_HOSTS);
    }

    #[test]
    fn a_few_hosts_beyond_the_limit_are_counted_exactly() {
        let mut t = Tracker::default();
        for i in 0..(MAX_HOSTS as u32 + 7) {
            t.packet(nth(i), nth(i));
        }
        assert_eq!(t.vantage(false).more_hosts, 7);
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    /// The `i`th address of 10.0.0.0/8.
    fn nth(i: u32) -> IpAddr {
        IpAddr::from(std::net::Ipv4Addr::from((10u32 << 24) + i))
    }

    #[test]
    fn a_capture_at_a_host_has_it_in_every_packet_and_a_mirror_has_none() {
        let mut t = Tracker::default();
        t.packet(ip("192.0.2.10"), ip("192.0.2.20"));
        assert_eq!(t.capture_host(), None, "two hosts: either could be it");
        t.packet(ip("192.0.2.20"), ip("192.0.2.31"));
        t.packet(ip("192.0.2.32"), ip("192.0.2.20"));
        assert_eq!(t.capture_host(), Some(ip("192.0.2.20")));
        let v = t.vantage(false);
        let dead = v
            .hosts
            .iter()
            .find(|h| h.ip == ip("192.0.2.31"))
            .expect("seen");
        assert!(dead.receives && !dead.sends);
        t.packet(ip("192.0.2.10"), ip("192.0.2.32"));
        assert_eq!(
            t.capture_host(),
            None,
            "traffic between other hosts: a mirror"
        );
    }

    #[test]
    fn ttls_say_how_many_routers_are_between() {
        let mut t = Tracker::default();
        t.packet(ip("192.0.2.10"), ip("192.0.2.20"));
        t.sender(ip("192.0.2.10"), 64, None);
        t.sender(ip("192.0.2.20"), 121, Some([2, 0, 0, 0, 0, 1]));
        let v = t.vantage(true);
        let hops: Vec<Option<u8>> = v.hosts.iter().map(Host::hops).collect();
        assert_eq!(hops, [Some(0), Some(7)]);
        assert_eq!(v.hosts[1].mac, Some([2, 0, 0, 0, 0, 1]));
    }
}
