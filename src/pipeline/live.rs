//! A capture read as it happens (a live interface): frames in, calls out as they finish.
//!
//! Frames are gathered into small batches, written as an in-memory pcap and read back by the same
//! chunk reader and decoder that read files, then folded into the same engine; between batches the
//! wall clock moves the capture clock, so a call is finalized on time even when the interface falls
//! silent. Frame numbers run on from batch to batch, as in a file written of the same frames.
//! What a batch or a tick finished is delivered to the output right then, on the caller's thread
//! (`render::deliver`): frames come at the pace of the wire, so the fold is no bottleneck there.

use std::io;

use super::chunk;
use super::fold::Fold;
use super::{render, Options};
use crate::analysis::Output;
use crate::capture::write::PcapWriter;
use crate::capture::{CaptureFile, Start};
use crate::diagnose::Delivery;

/// Frames gathered before a batch is decoded anyway.
const BATCH_FRAMES: usize = 4096;

/// A live capture feeding the engine.
pub struct Live<'o> {
    fold: Fold,
    out: &'o mut dyn Output,
    link_type: u32,
    /// Where HEP1/2 is recognised (libpcap applies the BPF filter itself).
    hep_ports: Vec<u16>,
    batch: Option<PcapWriter<Vec<u8>>>,
    frames: usize,
    /// Diagnoses the calls the fold left undiagnosed as they are delivered.
    delivery: Delivery,
}

impl<'o> Live<'o> {
    /// A live capture of frames of `link_type`, named `label` in the report, writing into `out`.
    pub fn new(
        label: &str,
        link_type: u32,
        options: &Options,
        out: &'o mut dyn Output,
    ) -> Live<'o> {
        let mut fold = Fold::new(options);
        fold.begin_live(label);
        Live {
            fold,
            out,
            link_type,
            hep_ports: options.hep_ports.clone(),
            batch: None,
            frames: 0,
            delivery: Delivery::default(),
        }
    }

    /// One captured frame: its time, its bytes and its length on the wire.
    pub fn frame(&mut self, ts_ns: i64, data: &[u8], orig_len: u32) -> io::Result<()> {
        if self.batch.is_none() {
            self.batch = Some(PcapWriter::new(Vec::new(), self.link_type, true)?);
        }
        if let Some(batch) = self.batch.as_mut() {
            batch.write(ts_ns, data, orig_len)?;
        }
        self.frames += 1;
        if self.frames >= BATCH_FRAMES {
            self.flush()?;
        }
        Ok(())
    }

    /// Decodes and folds what was gathered, then moves the capture clock to `now_ns` (the wall
    /// clock): calls that ended long enough ago are finalized.
    pub fn tick(&mut self, now_ns: i64) -> io::Result<()> {
        self.flush()?;
        self.fold.tick(now_ns);
        render::deliver(self.out, &mut self.delivery, self.fold.finished());
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        let Some(batch) = self.batch.take() else {
            return Ok(());
        };
        self.frames = 0;
        let file = CaptureFile::from_bytes(String::new(), batch.finish()?)
            .map_err(|e| io::Error::other(e.to_string()))?;
        let (at, state) = file.first();
        let output = chunk::run(
            &file,
            at..file.len(),
            Start::At(at, state),
            chunk::Config {
                filter: None,
                hep_ports: &self.hep_ports,
            },
            Vec::new(),
        );
        self.fold.absorb(output);
        render::deliver(self.out, &mut self.delivery, self.fold.finished());
        Ok(())
    }

    /// The capture stopped: finalizes every call still open and finishes the output.
    pub fn finish(mut self) -> io::Result<()> {
        self.flush()?;
        self.fold.end_file();
        let (out, mut delivery) = (self.out, self.delivery);
        let (summary, patterns) = self
            .fold
            .finish(|batch| render::deliver(out, &mut delivery, batch));
        render::finish(out, delivery, summary, patterns)
    }
}
