//! Capture vantage: what the capture point can see, inferred from the VoIP traffic as it goes by.
//!
//! Takes the addresses of each SIP message, TCP segment, RTP/STUN/UDPTL flow and ICMP error the
//! engine handles (RTP once per flow and chunk, not per packet), and the IP TTL and source MAC of SIP
//! over UDP; produces a [`Vantage`]: the hosts seen, whether each sent and received, the TTLs and
//! MAC its packets arrived with, and the address every packet so far was from or to — when there is
//! one, the capture was taken at that host (its interface or its link), and traffic between other
//! hosts cannot be on it. Whether RTP was seen at all is the media tracker's (`media::Tracker`).
//! The facts are about the capture *so far*: a call is judged with what had been seen when it was
//! finalized. Memory is bounded by [`MAX_HOSTS`]; further hosts are counted.

use std::net::IpAddr;

use rustc_hash::FxHashMap;

/// Hosts remembered; further ones are counted.
pub const MAX_HOSTS: usize = 4096;

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
    /// Hosts beyond [`MAX_HOSTS`], counted.
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

/// Builds the [`Vantage`] as the capture goes by.
#[derive(Default)]
pub struct Tracker {
    hosts: FxHashMap<IpAddr, Host>,
    more_hosts: u64,
    /// `None` before the first packet.
    common: Option<Vec<IpAddr>>,
}

impl Tracker {
    fn host(&mut self, ip: IpAddr) -> Option<&mut Host> {
        if !self.hosts.contains_key(&ip) {
            if self.hosts.len() >= MAX_HOSTS {
                self.more_hosts += 1;
                return None;
            }
            self.hosts.insert(
                ip,
                Host {
                    ip,
                    sends: false,
                    receives: false,
                    ttl: None,
                    mac: None,
                },
            );
        }
        self.hosts.get_mut(&ip)
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
            more_hosts: self.more_hosts,
            common: self.common.clone().unwrap_or_default(),
            rtp_seen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
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
