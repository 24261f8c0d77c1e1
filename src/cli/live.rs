//! Live capture (`callscope watch`) and BPF filters (`--filter`); built only with the cargo feature
//! `live`, which links libpcap through the `pcap` crate.
//!
//! Takes in packets from a network interface (libpcap in immediate mode, a short read timeout) or, for
//! `--filter`, a tcpdump filter expression. Produces each call's verdict once the call has ended (and
//! its grace window passed), the transport failures as they are let go, and a summary on Ctrl-C; for
//! `--filter`, a frame filter that the offline pipeline applies to every frame before decoding.
//!
//! It implements no rule and no timer: the frames go into the library's live session
//! (`callscope::pipeline::Live`), the same decoder and engine that read files, whose clock follows
//! the packets and, between them, the wall clock (ticked every second), so calls end as they would
//! in a file of the same packets; `--idle` is the engine's idle bound for answered calls. Memory is
//! what the engine holds open, whatever the session's length. The `--write` file is written through
//! `capture::write` and its frame numbers are the report's.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use callscope::analysis::{Output, Reporting, Summary};
use callscope::capture::write::PcapWriter;
use callscope::correlate::calls::OtherDialog;
use callscope::correlate::media::Stream;
use callscope::correlate::transport::{Connection, IcmpError};
use callscope::diagnose::{DiagnosedCall, Severity, Sink, TransportEvent};
use callscope::pipeline::{FrameFilter, Live};
use callscope::report::json::NdjsonWriter;
use callscope::report::text;

use super::args;

/// pcap LINKTYPE_ETHERNET: the link type a filter's syntax is checked against.
const LINKTYPE_ETHERNET: u32 = 1;
/// pcap LINKTYPE_RAW (raw IPv4/IPv6) and its DLT value in libpcap (12 except on OpenBSD).
const LINKTYPE_RAW: u32 = 101;
const DLT_RAW: i32 = 12;
/// How long the reader sleeps when no packet is waiting.
const POLL: Duration = Duration::from_millis(10);
/// How often the session's clock follows the wall clock.
const TICK: Duration = Duration::from_secs(1);
const SECOND_NS: i64 = 1_000_000_000;

/// Compiles a BPF filter (tcpdump syntax) into a frame filter for the pipeline.
///
/// The expression is compiled once per link type it meets (libpcap compiles for a link type), lazily,
/// in a few slots so that parallel chunk readers rarely wait on one another's lock.
pub fn bpf_filter(expr: &str) -> anyhow::Result<Arc<FrameFilter>> {
    // Checking the syntax up front makes a typo a usage error instead of a capture where every frame
    // was left out.
    compile(expr, LINKTYPE_ETHERNET).with_context(|| format!("--filter {expr:?}"))?;
    type Programs = HashMap<u32, Option<pcap::BpfProgram>>;
    let slots: Vec<Mutex<Programs>> = (0..=rayon::current_num_threads())
        .map(|_| Mutex::new(HashMap::new()))
        .collect();
    let expr = expr.to_string();
    let warned = AtomicBool::new(false);
    Ok(Arc::new(move |link_type: u32, data: &[u8]| {
        let last = slots.len() - 1;
        let slot = rayon::current_thread_index().map_or(last, |i| i.min(last));
        let mut programs = slots[slot].lock().unwrap_or_else(PoisonError::into_inner);
        let program =
            programs
                .entry(link_type)
                .or_insert_with(|| match compile(&expr, link_type) {
                    Ok(program) => Some(program),
                    Err(err) => {
                        if !warned.swap(true, Ordering::Relaxed) {
                            eprintln!(
                            "callscope: --filter {expr:?} does not apply to link type {link_type} \
                             ({err}): its frames are left out"
                        );
                        }
                        None
                    }
                });
        program.as_ref().is_some_and(|p| p.filter(data))
    }))
}

fn compile(expr: &str, link_type: u32) -> Result<pcap::BpfProgram, pcap::Error> {
    // libpcap opens a dead handle by DLT, which differs from the file's LINKTYPE only for raw IP.
    let dlt = match link_type {
        LINKTYPE_RAW => DLT_RAW,
        other => i32::try_from(other).map_err(|_| pcap::Error::InvalidLinktype)?,
    };
    pcap::Capture::dead(pcap::Linktype(dlt))?.compile(expr, true)
}

/// What the capture thread hands to the analysing one.
enum Event {
    Packet { ts_ns: i64, data: Vec<u8>, len: u32 },
    Failed(String),
    Stats(pcap::Stat),
}

/// `callscope watch`: captures until Ctrl-C (or SIGTERM), reporting calls as they end.
pub fn watch(args: &args::Watch) -> anyhow::Result<()> {
    let iface = args.interface.as_str();
    let mut capture = pcap::Capture::from_device(iface)
        .and_then(|c| {
            c.immediate_mode(true)
                .promisc(true)
                .snaplen(262_144)
                .timeout(100)
                .buffer_size(32 << 20)
                .open()
        })
        // In immediate mode Linux's libpcap waits for a packet without the timeout, so the reader
        // polls instead: a stop is then noticed within `POLL` even on a silent interface.
        .and_then(|c| c.setnonblock())
        .with_context(|| format!("cannot capture on {iface}"))?;
    if let Some(expr) = &args.filter {
        capture
            .filter(expr, true)
            .with_context(|| format!("--filter {expr:?}"))?;
    }
    let link_type = u32::try_from(capture.get_datalink().0)
        .map_err(|_| anyhow::anyhow!("{iface}: negative link type"))?;

    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // The first signal asks for a clean stop; a second one ends the program at once.
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&stop))?;
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }

    let mut writer = match &args.write {
        Some(path) => Some(
            File::create(path)
                .and_then(|f| PcapWriter::new(BufWriter::new(f), link_type, false))
                .with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => None,
    };
    let json_to_stdout = args.json_lines.as_deref() == Some(Path::new("-"));
    let json: Option<Box<dyn Write + Send>> = match &args.json_lines {
        None => None,
        Some(_) if json_to_stdout => Some(Box::new(io::stdout())),
        Some(path) => Some(Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        ))),
    };
    let mut reporter = Reporter {
        text: (!json_to_stdout).then(|| Box::new(io::stdout()) as Box<dyn Write + Send>),
        json: json.map(NdjsonWriter::new),
        notes: if json_to_stdout {
            Box::new(io::stderr())
        } else {
            Box::new(io::stdout())
        },
        color: !json_to_stdout && io::stdout().is_terminal(),
        totals: Totals::default(),
        error: None,
    };
    eprintln!(
        "callscope: watching {iface} (link type {link_type}){}; Ctrl-C stops and prints the summary",
        args.filter
            .as_ref()
            .map(|f| format!(", filter {f:?}"))
            .unwrap_or_default()
    );

    let (tx, rx) = mpsc::sync_channel::<Event>(1 << 16);
    let reading = Arc::clone(&stop);
    let reader = thread::spawn(move || {
        while !reading.load(Ordering::Relaxed) {
            match capture.next_packet() {
                Ok(p) => {
                    let event = Event::Packet {
                        ts_ns: timeval_ns(p.header),
                        data: p.data.to_vec(),
                        len: p.header.len,
                    };
                    if tx.send(event).is_err() {
                        return;
                    }
                }
                Err(pcap::Error::TimeoutExpired) => thread::sleep(POLL),
                Err(err) => {
                    let _ = tx.send(Event::Failed(err.to_string()));
                    return;
                }
            }
        }
        if let Ok(stats) = capture.stats() {
            let _ = tx.send(Event::Stats(stats));
        }
    });

    let started = Instant::now();
    let mut options = callscope::Options::default();
    options.limits.dialogs.idle_ns = idle_ns(args.idle);
    let mut failure = None;
    let mut stats = None;
    // The selection (`--number`, `--ip`, ...) in front of the reporter; times relative to the start
    // of the watch.
    let mut reporting = Reporting::new(&args.select.filter(), &mut reporter);
    reporting.capture_start(now_ns());
    let mut live = Live::new(
        &format!("live:{iface}"),
        link_type,
        &options,
        &mut reporting,
    );
    let run = (|| -> anyhow::Result<()> {
        let mut last_tick = Instant::now();
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Event::Packet { ts_ns, data, len }) => {
                    if let Some(w) = writer.as_mut() {
                        w.write(ts_ns, &data, len)
                            .context("cannot write the capture")?;
                    }
                    live.frame(ts_ns, &data, len)?;
                }
                Ok(Event::Failed(msg)) => failure = Some(msg),
                Ok(Event::Stats(s)) => stats = Some(s),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if last_tick.elapsed() >= TICK {
                live.tick(now_ns())?;
                last_tick = Instant::now();
            }
        }
        Ok(())
    })();
    let finished = live.finish();
    drop(reporting);
    // Whatever happened, stop the reader and close the written capture cleanly.
    stop.store(true, Ordering::Relaxed);
    drop(rx);
    let _ = reader.join();
    let written = writer.map(PcapWriter::finish).transpose();
    run?;
    finished?;
    written.context("cannot write the capture")?;
    reporter.summary(iface, started.elapsed(), stats, args.write.as_deref())?;
    match failure {
        Some(msg) => anyhow::bail!("capture on {iface} failed: {msg}"),
        None => Ok(()),
    }
}

fn idle_ns(seconds: u64) -> i64 {
    i64::try_from(seconds)
        .unwrap_or(i64::MAX)
        .saturating_mul(SECOND_NS)
}

/// A libpcap timestamp (µs resolution) in nanoseconds since the epoch.
#[allow(clippy::unnecessary_cast)] // time_t and suseconds_t differ between platforms
fn timeval_ns(h: &pcap::PacketHeader) -> i64 {
    (h.ts.tv_sec as i64)
        .saturating_mul(SECOND_NS)
        .saturating_add((h.ts.tv_usec as i64).saturating_mul(1000))
}

/// The wall clock, on the same scale as the kernel's packet timestamps.
fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Where reports go, as the session finalizes calls.
struct Reporter {
    /// Verdicts as text (`report::text::write_verdict`).
    text: Option<Box<dyn Write + Send>>,
    /// One JSON object per call (the objects of `--ndjson`).
    json: Option<NdjsonWriter<Box<dyn Write + Send>>>,
    /// Transport failures and the summary.
    notes: Box<dyn Write + Send>,
    color: bool,
    totals: Totals,
    /// The first error writing a report (the session stops on it).
    error: Option<io::Error>,
}

#[derive(Default)]
struct Totals {
    packets: u64,
    bytes: u64,
    calls: usize,
    states: BTreeMap<&'static str, usize>,
    worst: HashMap<Severity, usize>,
    codes: BTreeMap<&'static str, usize>,
    transport_failures: usize,
    /// Calls the selection left out.
    filtered: u64,
}

impl Reporter {
    fn note(&mut self, written: io::Result<()>) {
        if let Err(e) = written {
            self.error.get_or_insert(e);
        }
    }

    fn summary(
        &mut self,
        iface: &str,
        elapsed: Duration,
        stats: Option<pcap::Stat>,
        written: Option<&Path>,
    ) -> io::Result<()> {
        let t = &self.totals;
        let out = &mut self.notes;
        writeln!(
            out,
            "\nwatched {iface} for {:.1} s: {} packets, {} bytes captured{}",
            elapsed.as_secs_f64(),
            t.packets,
            t.bytes,
            stats
                .map(|s| format!(
                    ", {} dropped by the kernel, {} by the interface",
                    s.dropped, s.if_dropped
                ))
                .unwrap_or_default()
        )?;
        let states: Vec<String> = t.states.iter().map(|(s, n)| format!("{n} {s}")).collect();
        writeln!(
            out,
            "  {} calls reported{}; {} with an error, {} with a warning",
            t.calls,
            if states.is_empty() {
                String::new()
            } else {
                format!(" ({})", states.join(", "))
            },
            t.worst.get(&Severity::Error).copied().unwrap_or(0),
            t.worst.get(&Severity::Warning).copied().unwrap_or(0)
        )?;
        if t.filtered > 0 {
            writeln!(out, "  {} calls left out by the selection", t.filtered)?;
        }
        for (code, n) in &t.codes {
            writeln!(out, "  {code}: {n} call{}", if *n == 1 { "" } else { "s" })?;
        }
        writeln!(out, "  {} transport failures", t.transport_failures)?;
        if let Some(path) = written {
            writeln!(out, "  written: {} ({} packets)", path.display(), t.packets)?;
        }
        out.flush()
    }
}

impl Sink for Reporter {
    fn call(&mut self, d: &DiagnosedCall) {
        let t = &mut self.totals;
        t.calls += 1;
        *t.states.entry(d.state.as_str()).or_default() += 1;
        if let Some(worst) = d.worst() {
            *t.worst.entry(worst).or_default() += 1;
        }
        for f in &d.findings {
            *t.codes.entry(f.code).or_default() += 1;
        }
        let options = text::Options {
            color: self.color,
            only_failed: false,
            all: true,
        };
        if let Some(out) = self.text.as_mut() {
            let written = text::write_verdict(d, &options, &mut *out).and_then(|()| out.flush());
            self.note(written);
        }
        if let Some(json) = self.json.as_mut() {
            json.call(d);
        }
    }
    fn other(&mut self, _: &OtherDialog) {}
    fn stream(&mut self, _: &Stream) {}
    fn connection(&mut self, _: &Connection) {}
    fn transport_event(&mut self, e: &TransportEvent) {
        if !e.calls.is_empty() {
            // It is in the verdicts of the calls it explains.
            return;
        }
        self.totals.transport_failures += 1;
        let frames: Vec<String> = e.frames.iter().take(12).map(u64::to_string).collect();
        let written = writeln!(
            self.notes,
            "\ntransport {} {} {} {} → {}: {}\n  cause: {}\n  evidence: frames {}",
            e.severity.as_str(),
            e.code,
            e.proto.as_str(),
            e.src,
            e.dst,
            text::escape(&e.summary),
            text::escape(&e.cause),
            frames.join(", ")
        )
        .and_then(|()| self.notes.flush());
        self.note(written);
    }
}

impl Output for Reporter {
    fn icmp_error(&mut self, _: &IcmpError) {}
    fn finish(&mut self, summary: Summary) -> io::Result<()> {
        for c in &summary.captures {
            self.totals.packets += c.packets;
            self.totals.bytes += c.captured_bytes;
        }
        self.totals.filtered = summary.filtered_calls;
        if let Some(json) = self.json.as_mut() {
            json.finish(summary)?;
        }
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use callscope::capture::{CaptureFile, Start};
    use callscope::pipeline::NoProgress;
    use callscope::Analysis;

    fn lab(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/lab")
            .join(name)
    }

    /// Every packet of a capture: (time, bytes, length on the wire).
    fn packets(name: &str) -> (u32, Vec<(i64, Vec<u8>, u32)>) {
        let file = CaptureFile::open(&lab(name)).expect("open a lab capture");
        let (at, state) = file.first();
        let mut link = 0;
        let mut out = Vec::new();
        file.read_chunk(at..file.len(), Start::At(at, state), &mut |f| {
            link = f.link_type;
            out.push((f.ts_ns, f.data.to_vec(), f.orig_len));
        });
        (link, out)
    }

    fn offline(names: &[&str]) -> Analysis {
        let files: Vec<CaptureFile> = names
            .iter()
            .map(|n| CaptureFile::open(&lab(n)).expect("open a lab capture"))
            .collect();
        callscope::analyze(&files, &callscope::Options::default(), &NoProgress)
    }

    /// A writer the test reads back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn lines(&self) -> Vec<String> {
            let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            String::from_utf8_lossy(&bytes)
                .lines()
                .map(str::to_string)
                .collect()
        }
    }

    /// Replays captures into a live session on the capture's own clock, ticking every second as
    /// `watch` does, through the selection as `watch` applies it; returns the JSON lines written by
    /// each tick (the time of the tick and the call) and the calls the selection left out.
    fn replay_selected(
        names: &[&str],
        after_s: i64,
        select: &args::Select,
    ) -> (Vec<(i64, serde_json::Value)>, u64) {
        let mut pkts = Vec::new();
        let mut link = 0;
        for name in names {
            let (l, p) = packets(name);
            link = l;
            pkts.extend(p);
        }
        let json = Shared::default();
        let mut reporter = Reporter {
            text: None,
            json: Some(NdjsonWriter::new(Box::new(json.clone()))),
            notes: Box::new(io::sink()),
            color: false,
            totals: Totals::default(),
            error: None,
        };
        let mut out: Vec<(i64, serde_json::Value)> = Vec::new();
        let mut seen = 0;
        let mut collect = |at: i64, out: &mut Vec<(i64, serde_json::Value)>| {
            let lines = json.lines();
            for l in &lines[seen..] {
                out.push((at, serde_json::from_str(l).expect("a JSON object per line")));
            }
            seen = lines.len();
        };
        {
            let options = callscope::Options::default();
            let mut reporting = Reporting::new(&select.filter(), &mut reporter);
            reporting.capture_start(pkts.first().map_or(0, |p| p.0));
            let mut live = Live::new("test", link, &options, &mut reporting);
            let mut next_tick = pkts.first().map_or(0, |p| p.0) + SECOND_NS;
            let last_ts = pkts.last().map_or(0, |p| p.0);
            for (ts, data, len) in &pkts {
                while next_tick <= *ts {
                    live.tick(next_tick).expect("tick");
                    collect(next_tick, &mut out);
                    next_tick += SECOND_NS;
                }
                live.frame(*ts, data, *len).expect("a frame");
            }
            while next_tick <= last_ts + after_s * SECOND_NS {
                live.tick(next_tick).expect("tick");
                collect(next_tick, &mut out);
                next_tick += SECOND_NS;
            }
            live.finish().expect("finish");
        }
        collect(i64::MAX, &mut out);
        (out, reporter.totals.filtered)
    }

    fn replay(names: &[&str], after_s: i64) -> Vec<(i64, serde_json::Value)> {
        replay_selected(names, after_s, &args::Select::default()).0
    }

    #[test]
    fn the_selection_reports_only_the_calls_it_picks() {
        let names = ["sip-udp-basic-call.pcap", "sip-udp-outcomes.pcap"];
        let select = args::Select {
            state: Some(args::CallState::Answered),
            ..args::Select::default()
        };
        let (reported, left_out) = replay_selected(&names, 40, &select);
        let offline = offline(&names);
        let answered: Vec<usize> = offline
            .calls
            .iter()
            .filter(|c| c.state.as_str() == "answered")
            .map(|c| c.index + 1)
            .collect();
        let indexes: Vec<u64> = reported
            .iter()
            .filter_map(|(_, v)| v["index"].as_u64())
            .collect();
        assert_eq!(
            indexes,
            answered.iter().map(|&i| i as u64).collect::<Vec<_>>()
        );
        assert_eq!(left_out as usize, offline.calls.len() - answered.len());
    }

    fn codes(v: &serde_json::Value) -> Vec<String> {
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| f["code"].as_str().expect("code").to_string())
            .collect()
    }

    #[test]
    fn each_call_is_reported_once_when_it_ends_with_the_offline_verdict() {
        // Two captures of one lab session, one after the other: frame numbers go on across batches.
        let names = ["sip-udp-basic-call.pcap", "sip-udp-outcomes.pcap"];
        let offline = offline(&names);
        let reported = replay(&names, 40);
        assert_eq!(reported.len(), offline.calls.len(), "{reported:?}");
        let mut by_index = reported.clone();
        by_index.sort_by_key(|(_, v)| v["index"].as_u64());
        for (call, (at, v)) in offline.calls.iter().zip(&by_index) {
            assert_eq!(v["index"], serde_json::json!(call.index + 1));
            assert_eq!(v["call_id"], serde_json::json!(call.call_id));
            assert_eq!(v["state"], serde_json::json!(call.state.as_str()));
            let offline_codes: Vec<String> =
                call.findings.iter().map(|f| f.code.to_string()).collect();
            assert_eq!(codes(v), offline_codes, "call {}", call.index + 1);
            let frames: Vec<u64> = call.frames().collect();
            assert_eq!(v["frames"]["sip"], serde_json::json!(frames));
            // Each call was reported by the clock, before the stop.
            assert!(*at < i64::MAX, "call {} only at the stop", call.index + 1);
        }
        // The unanswered INVITE after Timer B and the grace window.
        let unanswered = &offline.calls[4];
        let at = by_index[4].0;
        let after = (at - unanswered.start_ts_ns) as f64 / 1e9;
        assert!(
            (37.0..39.0).contains(&after),
            "reported {after} s after the INVITE"
        );
        // The answered call a few seconds after its BYE was answered, not at the end.
        assert!(by_index[0].0 < offline.calls[0].end_ts_ns + 7 * SECOND_NS);
    }

    #[test]
    fn bpf_filters_select_frames_by_link_type() {
        let (link, pkts) = packets("sip-udp-basic-call.pcap");
        let filter = bpf_filter("udp port 5060").expect("a valid filter");
        let kept = pkts.iter().filter(|p| filter(link, &p.1)).count();
        let offline = offline(&["sip-udp-basic-call.pcap"]);
        assert_eq!(kept as u64, offline.sip.messages);
        // Raw IPv4 (LINKTYPE_RAW 101) compiles its own program: the Ethernet header is not there.
        let sip = pkts
            .iter()
            .find(|p| filter(link, &p.1))
            .expect("a SIP packet");
        assert!(filter(LINKTYPE_RAW, &sip.1[14..]));
        assert!(!filter(LINKTYPE_RAW, &sip.1));
        assert!(bpf_filter("udp port").is_err());
        assert!(bpf_filter("no such keyword").is_err());
    }
}
