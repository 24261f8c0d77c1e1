//! Test-only builders: packets and small captures made in memory; `expected` for the expected data
//! in testdata/expected/, `optional` for what a bare clone may lack, `synth` the benchmark's
//! generator of many calls.
pub mod expected;
pub mod optional;
#[path = "../../../examples/synth/mod.rs"]
pub mod synth;

use callscope::capture::write::PcapWriter;
use callscope::capture::CaptureFile;
use callscope::{Analysis, Options};

/// An Ethernet/IPv4/UDP packet with the given payload.
pub fn udp_v4(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, payload: &[u8]) -> Vec<u8> {
    let builder = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src, dst, 64)
        .udp(sport, dport);
    let mut out = Vec::with_capacity(builder.size(payload.len()));
    builder.write(&mut out, payload).expect("write to a Vec");
    out
}

/// A pcap (Ethernet, µs) of the given (timestamp ns, packet) records.
pub fn pcap(records: &[(i64, Vec<u8>)]) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new(), 1, false).expect("write to a Vec");
    for (ts, data) in records {
        w.write(*ts, data, data.len() as u32)
            .expect("write to a Vec");
    }
    w.finish().expect("write to a Vec")
}

/// `n` UDP packets of varying sizes, 20 ms apart.
pub fn udp_records(n: usize) -> Vec<(i64, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let payload = vec![(i % 251) as u8; 20 + (i * 37) % 700];
            (
                1_700_000_000_000_000_000 + i as i64 * 20_000_000,
                udp_v4([192, 0, 2, 1], 4000, [192, 0, 2, 2], 5000, &payload),
            )
        })
        .collect()
}

/// Opens in-memory capture bytes.
pub fn open(bytes: Vec<u8>) -> CaptureFile {
    CaptureFile::from_bytes("test.pcap".into(), bytes).expect("a valid capture")
}

/// Analyses files with the given chunk size on a pool of `threads` threads.
pub fn analyze_with(files: &[CaptureFile], chunk_size: usize, threads: usize) -> Analysis {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool");
    let options = Options {
        chunk_size,
        ..Options::default()
    };
    pool.install(|| callscope::analyze(files, &options, &callscope::pipeline::NoProgress))
}

/// Analyses a recorded lab capture (testdata/lab) in 1 MiB chunks on two threads.
pub fn lab(name: &str) -> Analysis {
    let path = std::path::Path::new("testdata/lab").join(name);
    let file = CaptureFile::open(&path).expect("a lab capture");
    analyze_with(std::slice::from_ref(&file), 1 << 20, 2)
}

/// An Ethernet/IPv4/TCP segment (ACK and PSH set, or SYN when `syn`).
pub fn tcp_v4(
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    seq: u32,
    syn: bool,
    payload: &[u8],
) -> Vec<u8> {
    let mut builder = etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src, dst, 64)
        .tcp(sport, dport, seq, 65_000);
    builder = if syn {
        builder.syn()
    } else {
        builder.ack(1).psh()
    };
    let mut out = Vec::with_capacity(builder.size(payload.len()));
    builder.write(&mut out, payload).expect("write to a Vec");
    out
}
