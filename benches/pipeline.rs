//! Throughput of the record walk and of the whole pipeline on a generated capture held in memory.
//! Run: `cargo bench --bench pipeline`. The large-file comparison with cat and tshark is
//! `scripts/bench.sh`.

#[path = "../examples/synth/mod.rs"]
mod synth;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use callscope::capture::{CaptureFile, Start};

fn capture() -> CaptureFile {
    let spec = synth::Spec {
        calls: 100,
        media_ms: 20_000,
        ..synth::Spec::default()
    };
    let mut bytes = Vec::new();
    synth::generate(&spec, &mut bytes).expect("generate into memory");
    CaptureFile::from_bytes("bench.pcap".into(), bytes).expect("a valid capture")
}

fn benches(c: &mut Criterion) {
    let file = capture();
    let mut group = c.benchmark_group("capture");
    group.throughput(Throughput::Bytes(file.len() as u64));
    group.sample_size(20);
    group.bench_function("record_walk", |b| {
        b.iter(|| {
            let (at, state) = file.first();
            let mut n = 0u64;
            file.read_chunk(at..file.len(), Start::At(at, state), &mut |_| n += 1);
            n
        })
    });
    let files = [file];
    group.bench_function("analyze", |b| {
        b.iter(|| {
            callscope::analyze(
                &files,
                &callscope::Options::default(),
                &callscope::pipeline::NoProgress,
            )
        })
    });
    group.finish();
}

criterion_group!(pipeline, benches);
criterion_main!(pipeline);
