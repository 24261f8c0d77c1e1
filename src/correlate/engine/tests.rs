//! The engine's own bookkeeping: what it indexes is let go with what it indexed.

use super::*;

/// Keeps the streams it is given; everything else is dropped.
#[derive(Default)]
struct Streams(Vec<Stream>);

impl Finisher for Streams {
    fn call(&mut self, _call: FinishedCall) -> Tied {
        Tied::default()
    }
    fn other(&mut self, _dialog: OtherDialog) {}
    fn stream(&mut self, stream: Stream) {
        self.0.push(stream);
    }
    fn connection(&mut self, _conn: Released<Connection>, _sip_port: bool) {}
    fn icmp(&mut self, _group: Released<IcmpGroup>, _sip_port: bool) {}
    fn dns(&mut self, _lookup: Released<Lookup>) {}
    fn transaction(&mut self, _tx: Transaction) {}
    fn registration(&mut self, _reg: Registration) {}
    fn peer(&mut self, _peer: Peer) {}
}

const T0: i64 = 1_700_000_000_000_000_000;
const MS: i64 = 1_000_000;

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

/// UDP that passes for RTP by its first byte but jumps about in sequence (mirror-port noise) is
/// tracked as a stream, never reported, and once silent leaves no trace in the indexes: its
/// endpoints are dropped directly instead of by a scan of every open stream's.
#[test]
fn a_stream_that_never_behaved_like_rtp_leaves_the_indexes_when_it_expires() {
    let mut engine = Engine::new(Limits::default());
    let mut out = Streams::default();
    engine.start(T0);
    let flows = [
        (addr("192.0.2.1:40000"), addr("198.51.100.7:40002")),
        (addr("192.0.2.2:41000"), addr("198.51.100.8:41002")),
    ];
    let mut frame = 0;
    for (i, &(src, dst)) in flows.iter().enumerate() {
        for n in 0..8u16 {
            frame += 1;
            let ts = T0 + i64::from(n) * 20 * MS;
            engine.advance(ts, &mut out);
            let key = engine.stream(frame, ts, src, dst, 0x1000 + i as u32, 0);
            assert!(key.is_some());
            // A different sequence number each time, far apart: every packet a sequence error.
            let seq = n.wrapping_mul(9_973);
            engine.rtp(key, frame, ts, seq, u32::from(n) * 160, false, 0, 160);
        }
    }
    assert_eq!(engine.streams_at.len(), 4);
    assert_eq!(engine.streams_between.len(), 2);
    engine.advance(T0 + media::STREAM_IDLE_NS + 1_000 * MS, &mut out);
    assert_eq!(engine.media.open_count(), 0);
    assert!(engine.streams_at.is_empty(), "{:?}", engine.streams_at);
    assert!(engine.streams_between.is_empty());
    assert!(out.0.is_empty(), "noise is not reported as a stream");
}
