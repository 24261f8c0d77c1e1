//! Writing classic pcap files: used by the capture generator, by tests that build odd captures
//! (VLAN stacks, fragments, damaged records), and to extract a call's packets.
//!
//! Writes little-endian pcap with microsecond or nanosecond timestamps; does not write pcapng.

use std::io::{self, Write};

/// Writes a pcap file record by record.
pub struct PcapWriter<W: Write> {
    out: W,
    nanos: bool,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header: link type, snapshot length 262144, µs or ns timestamps.
    pub fn new(mut out: W, link_type: u32, nanos: bool) -> io::Result<Self> {
        let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        out.write_all(&magic.to_le_bytes())?;
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&0i32.to_le_bytes())?;
        out.write_all(&0u32.to_le_bytes())?;
        out.write_all(&262_144u32.to_le_bytes())?;
        out.write_all(&link_type.to_le_bytes())?;
        Ok(PcapWriter { out, nanos })
    }

    /// Writes one record; `orig_len` may exceed `data.len()` to describe a snaplen-cut packet.
    pub fn write(&mut self, ts_ns: i64, data: &[u8], orig_len: u32) -> io::Result<()> {
        let sec = ts_ns.div_euclid(1_000_000_000);
        let ns = ts_ns.rem_euclid(1_000_000_000);
        let frac = if self.nanos { ns } else { ns / 1000 };
        let caplen = u32::try_from(data.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "packet larger than 4 GiB"))?;
        self.out.write_all(&(sec as u32).to_le_bytes())?;
        self.out.write_all(&(frac as u32).to_le_bytes())?;
        self.out.write_all(&caplen.to_le_bytes())?;
        self.out.write_all(&orig_len.max(caplen).to_le_bytes())?;
        self.out.write_all(data)
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}
