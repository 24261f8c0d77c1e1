//! Live capture (`callscope watch`) and BPF filters (`--filter`); built only with the cargo feature
//! `live`, which links libpcap through the `pcap` crate.
//!
//! Takes in packets from a network interface (libpcap in immediate mode, a short read timeout) or, for
//! `--filter`, a tcpdump filter expression. Produces each call's verdict once the call has ended, the
//! transport failures as they are recognised, and a summary on Ctrl-C; for `--filter`, a frame filter
//! that the offline pipeline applies to every frame before decoding.
//!
//! It implements no rule: the packets of the current window are kept in memory as a pcap and analysed
//! again, every second, by the same `callscope::analyze` that reads files. What lives here is only the
//! decision *when* a call has ended, from the transaction rules of RFC 3261: the BYE was answered
//! (§15.1.1), a final non-2xx response was acknowledged (§17.1.1.3), the caller cancelled (§9), an INVITE
//! nobody answered gave up after Timer B (64·T1 = 32 s, §17.1.1.2), or the call was silent for `--idle`
//! seconds. Memory stays bounded over hours: once every call of the window is reported and the
//! signalling has been quiet for a while, the window is released; frame numbers go on across windows
//! (`Options::first_frame`) so that they match the `--write` file. A hard cap flushes a window that
//! grows too big, reporting its calls as they stand.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use callscope::capture::write::PcapWriter;
use callscope::capture::CaptureFile;
use callscope::correlate::calls::{Call, State};
use callscope::correlate::message::{Method, Transport};
use callscope::diagnose::Severity;
use callscope::pipeline::{FrameFilter, NoProgress};
use callscope::Analysis;

use super::args;

/// pcap LINKTYPE_ETHERNET: the link type a filter's syntax is checked against.
const LINKTYPE_ETHERNET: u32 = 1;
/// pcap LINKTYPE_RAW (raw IPv4/IPv6) and its DLT value in libpcap (12 except on OpenBSD).
const LINKTYPE_RAW: u32 = 101;
const DLT_RAW: i32 = 12;
/// How long the reader sleeps when no packet is waiting.
const POLL: Duration = Duration::from_millis(10);
/// How often the window is analysed again.
const TICK: Duration = Duration::from_secs(1);
const SECOND_NS: i64 = 1_000_000_000;
/// Timer B = 64·T1 with T1 = 500 ms (RFC 3261 §17.1.1.2): a client gives up an unanswered INVITE.
const TIMER_B_NS: i64 = 64 * SECOND_NS / 2;
/// How long after a call's last packet it is reported once its signalling ended it: late
/// retransmissions, the ACK of a 487 and the last RTP packets still count.
const GRACE_NS: i64 = 2 * SECOND_NS;
/// A window holding more captured bytes than this is analysed, reported and released at once.
const WINDOW_CAP: usize = 256 << 20;
/// Call-IDs remembered as reported (so that a call is reported once), oldest forgotten first.
const REMEMBERED_CALLS: usize = 100_000;
/// Length of the classic pcap file header.
const PCAP_HEADER: usize = 24;

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
    let json: Option<Box<dyn Write>> = match &args.json_lines {
        None => None,
        Some(_) if json_to_stdout => Some(Box::new(io::stdout())),
        Some(path) => Some(Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        ))),
    };
    let mut out = Out {
        text: (!json_to_stdout).then(|| Box::new(io::stdout()) as Box<dyn Write>),
        json,
        notes: if json_to_stdout {
            Box::new(io::stderr())
        } else {
            Box::new(io::stdout())
        },
        color: !json_to_stdout && io::stdout().is_terminal(),
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
    let mut tracker = Tracker::new(iface, link_type, idle_ns(args.idle), WINDOW_CAP);
    let mut failure = None;
    let mut stats = None;
    let run = (|| -> anyhow::Result<()> {
        let mut last_tick = Instant::now();
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Event::Packet { ts_ns, data, len }) => {
                    if let Some(w) = writer.as_mut() {
                        w.write(ts_ns, &data, len)
                            .context("cannot write the capture")?;
                    }
                    tracker.push(ts_ns, &data, len);
                    if tracker.over_cap() {
                        tracker.tick(now_ns(), true, &mut out)?;
                    }
                }
                Ok(Event::Failed(msg)) => failure = Some(msg),
                Ok(Event::Stats(s)) => stats = Some(s),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if last_tick.elapsed() >= TICK {
                tracker.tick(now_ns(), false, &mut out)?;
                last_tick = Instant::now();
            }
        }
        tracker.tick(now_ns(), true, &mut out)
    })();
    // Whatever happened, stop the reader and close the written capture cleanly.
    stop.store(true, Ordering::Relaxed);
    drop(rx);
    let _ = reader.join();
    let written = writer.map(PcapWriter::finish).transpose();
    run?;
    written.context("cannot write the capture")?;
    tracker.summary(
        started.elapsed(),
        stats,
        args.write.as_deref(),
        &mut *out.notes,
    )?;
    out.flush()?;
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

/// Where reports go.
struct Out<'a> {
    /// Verdicts as text (`report::text::write_verdict`).
    text: Option<Box<dyn Write + 'a>>,
    /// One JSON object per call (the objects of `--ndjson`).
    json: Option<Box<dyn Write + 'a>>,
    /// Transport failures and the summary.
    notes: Box<dyn Write + 'a>,
    color: bool,
}

impl Out<'_> {
    fn flush(&mut self) -> io::Result<()> {
        for w in [self.text.as_mut(), self.json.as_mut()]
            .into_iter()
            .flatten()
        {
            w.flush()?;
        }
        self.notes.flush()
    }
}

/// The packets of the current window, what was reported, and running totals.
struct Tracker {
    label: String,
    /// The window as a pcap file: header, then records.
    window: Vec<u8>,
    /// Records in `window`.
    packets: u64,
    /// Frame number of the window's first packet.
    first_frame: u64,
    /// Timestamp of the window's first packet.
    window_start_ns: Option<i64>,
    idle_ns: i64,
    cap: usize,
    /// Packets arrived since the last analysis.
    dirty: bool,
    /// When the next call may end or the window may be released, as of the last analysis.
    wake_ns: Option<i64>,
    reported: HashSet<String>,
    reported_order: VecDeque<String>,
    /// Transport failures reported, by (code, src, dst, proto), with when they were last seen.
    events: HashMap<(&'static str, SocketAddr, SocketAddr, Transport), i64>,
    totals: Totals,
}

#[derive(Default)]
struct Totals {
    packets: u64,
    bytes: u64,
    calls: usize,
    states: BTreeMap<&'static str, u64>,
    worst: BTreeMap<Severity, u64>,
    codes: BTreeMap<&'static str, u64>,
    transport_failures: u64,
    windows_released: u64,
    windows_flushed: u64,
}

impl Tracker {
    fn new(iface: &str, link_type: u32, idle_ns: i64, cap: usize) -> Tracker {
        Tracker {
            label: format!("live:{iface}"),
            window: empty_pcap(link_type),
            packets: 0,
            first_frame: 1,
            window_start_ns: None,
            idle_ns,
            cap,
            dirty: false,
            wake_ns: None,
            reported: HashSet::new(),
            reported_order: VecDeque::new(),
            events: HashMap::new(),
            totals: Totals::default(),
        }
    }

    fn push(&mut self, ts_ns: i64, data: &[u8], len: u32) {
        let caplen = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let data = data.get(..caplen as usize).unwrap_or(data);
        // The pcap header's nanosecond magic: record times are (seconds, nanoseconds).
        let (sec, ns) = (ts_ns.div_euclid(SECOND_NS), ts_ns.rem_euclid(SECOND_NS));
        self.window.extend_from_slice(&(sec as u32).to_le_bytes());
        self.window.extend_from_slice(&(ns as u32).to_le_bytes());
        self.window.extend_from_slice(&caplen.to_le_bytes());
        self.window
            .extend_from_slice(&len.max(caplen).to_le_bytes());
        self.window.extend_from_slice(data);
        self.packets += 1;
        self.window_start_ns.get_or_insert(ts_ns);
        self.dirty = true;
        self.totals.packets += 1;
        self.totals.bytes += u64::from(caplen);
    }

    fn over_cap(&self) -> bool {
        self.window.len() > self.cap
    }

    /// Analyses the window (when something may have changed), reports the calls that have ended and
    /// the new transport failures, and releases the window when it is done with. `flush` reports
    /// everything as it stands and always releases the window.
    fn tick(&mut self, now_ns: i64, flush: bool, out: &mut Out<'_>) -> anyhow::Result<()> {
        self.tick_reporting(now_ns, flush, out, &mut |_| {})
    }

    fn tick_reporting(
        &mut self,
        now_ns: i64,
        flush: bool,
        out: &mut Out<'_>,
        seen: &mut dyn FnMut(&ReportedCall<'_>),
    ) -> anyhow::Result<()> {
        if self.packets == 0 {
            return Ok(());
        }
        if !flush && !self.dirty && self.wake_ns.is_none_or(|w| now_ns < w) {
            return Ok(());
        }
        let file = CaptureFile::from_bytes(self.label.clone(), self.window.clone())
            .context("the in-memory window is not a capture")?;
        let options = callscope::Options {
            first_frame: self.first_frame,
            ..callscope::Options::default()
        };
        let analysis = callscope::analyze(std::slice::from_ref(&file), &options, &NoProgress);
        drop(file);

        self.report_transport(&analysis, now_ns, out)?;

        let mut wake: Option<i64> = None;
        let mut busy_until = i64::MIN;
        let mut due = Vec::new();
        for (i, call) in analysis.calls.iter().enumerate() {
            let last = last_activity(&analysis, i);
            busy_until = busy_until.max(last);
            if self.reported.contains(&call.call_id) {
                continue;
            }
            let ends = self.end_of(call, last);
            if flush || now_ns >= ends {
                due.push(i);
            } else {
                wake = Some(wake.map_or(ends, |w| w.min(ends)));
            }
        }
        for o in &analysis.other_dialogs {
            busy_until = busy_until.max(o.start_ts_ns);
        }
        let mut ndjson: Option<Vec<String>> = None;
        for i in due {
            let number = self.totals.calls + 1;
            out.call(&analysis, i, number, &mut ndjson)?;
            let call = &analysis.calls[i];
            seen(&ReportedCall {
                number,
                call_id: &call.call_id,
                at_ns: now_ns,
            });
            self.remember(call.call_id.clone());
            self.count(&analysis, i);
        }
        out.flush()?;
        self.dirty = false;

        // Released once every call is reported, the signalling has been quiet for the grace time,
        // and the window is old enough for slow failures (SYN retries, Timer A) to show in one piece.
        let quiet_at = busy_until.saturating_add(GRACE_NS).max(
            self.window_start_ns
                .unwrap_or(i64::MIN)
                .saturating_add(self.idle_ns),
        );
        if flush || (wake.is_none() && now_ns >= quiet_at) {
            if flush {
                self.totals.windows_flushed += 1;
            } else {
                self.totals.windows_released += 1;
            }
            self.release();
            self.wake_ns = None;
        } else {
            self.wake_ns = Some(wake.map_or(quiet_at, |w| w.min(quiet_at)));
        }
        Ok(())
    }

    /// When an unreported call counts as ended, given its last packet (SIP or RTP).
    fn end_of(&self, call: &Call, last: i64) -> i64 {
        let has = |pred: &dyn Fn(&callscope::correlate::message::Message) -> bool| {
            call.messages.iter().any(|s| pred(&s.msg))
        };
        let final_frame = call.final_response.as_ref().map(|f| f.frame);
        let signalled = match call.state {
            // RFC 3261 §15.1.1: the dialog ends when the BYE is answered.
            State::Answered | State::MidCall => has(&|m| m.is_final_response_to(&Method::Bye)),
            // §17.1.1.3: the ACK of a final non-2xx ends the transaction; a 401/407 challenge is
            // usually followed by a new INVITE with credentials, so it waits for silence.
            State::Rejected => {
                let challenge = call
                    .final_response
                    .as_ref()
                    .is_some_and(|f| matches!(f.status.0, 401 | 407));
                !challenge
                    && has(&|m| {
                        m.method() == Some(&Method::Ack) && final_frame.is_some_and(|f| m.frame > f)
                    })
            }
            State::Cancelled => true,
            State::Unanswered => {
                return call
                    .start_ts_ns
                    .saturating_add(TIMER_B_NS)
                    .max(last)
                    .saturating_add(GRACE_NS)
            }
            State::InProgress => false,
        };
        if signalled {
            last.saturating_add(GRACE_NS)
        } else {
            last.saturating_add(self.idle_ns)
        }
    }

    fn report_transport(
        &mut self,
        analysis: &Analysis,
        now_ns: i64,
        out: &mut Out<'_>,
    ) -> io::Result<()> {
        let keep = self.idle_ns.max(60 * SECOND_NS);
        self.events
            .retain(|_, seen| now_ns.saturating_sub(*seen) <= keep);
        for e in &analysis.diagnosis.transport_events {
            let key = (e.code, e.src, e.dst, e.proto);
            if self.events.insert(key, now_ns).is_some() {
                continue;
            }
            self.totals.transport_failures += 1;
            let frames: Vec<String> = e.frames.iter().take(12).map(u64::to_string).collect();
            let w = &mut out.notes;
            writeln!(
                w,
                "\ntransport {} {} {} {} → {}: {}",
                e.severity.as_str(),
                e.code,
                e.proto.as_str(),
                e.src,
                e.dst,
                escape(&e.summary)
            )?;
            writeln!(w, "      cause: {}", escape(&e.cause))?;
            writeln!(
                w,
                "      evidence: frames {}{}",
                frames.join(", "),
                if e.frames.len() > 12 { ", …" } else { "" }
            )?;
        }
        Ok(())
    }

    fn remember(&mut self, call_id: String) {
        if self.reported.insert(call_id.clone()) {
            self.reported_order.push_back(call_id);
        }
        while self.reported_order.len() > REMEMBERED_CALLS {
            if let Some(old) = self.reported_order.pop_front() {
                self.reported.remove(&old);
            }
        }
    }

    fn count(&mut self, analysis: &Analysis, i: usize) {
        let t = &mut self.totals;
        t.calls += 1;
        if let Some(call) = analysis.calls.get(i) {
            *t.states.entry(call.state.as_str()).or_default() += 1;
        }
        let findings = analysis.diagnosis.calls.get(i);
        if let Some(worst) = findings.and_then(|fs| fs.iter().map(|f| f.severity).min()) {
            *t.worst.entry(worst).or_default() += 1;
        }
        for f in findings.into_iter().flatten() {
            *t.codes.entry(f.code).or_default() += 1;
        }
    }

    /// Drops the window's packets; the next window's frames are numbered on.
    fn release(&mut self) {
        self.first_frame += self.packets;
        self.packets = 0;
        self.window.truncate(PCAP_HEADER);
        self.window.shrink_to(1 << 20);
        self.window_start_ns = None;
    }

    fn summary(
        &self,
        elapsed: Duration,
        stats: Option<pcap::Stat>,
        written: Option<&Path>,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let t = &self.totals;
        writeln!(
            out,
            "\nwatched {} for {:.1} s: {} packets, {} bytes captured{}",
            self.label.trim_start_matches("live:"),
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
        for (code, n) in &t.codes {
            writeln!(out, "  {code}: {n} call{}", if *n == 1 { "" } else { "s" })?;
        }
        writeln!(
            out,
            "  {} transport failures; {} windows released, {} flushed (cap {} MiB or stop)",
            t.transport_failures,
            t.windows_released,
            t.windows_flushed,
            self.cap >> 20
        )?;
        if let Some(path) = written {
            writeln!(out, "  written: {} ({} packets)", path.display(), t.packets)?;
        }
        Ok(())
    }
}

/// A call at the moment it is reported.
struct ReportedCall<'a> {
    #[cfg_attr(not(test), allow(dead_code))]
    number: usize,
    #[cfg_attr(not(test), allow(dead_code))]
    call_id: &'a str,
    #[cfg_attr(not(test), allow(dead_code))]
    at_ns: i64,
}

impl Out<'_> {
    /// Writes call `i` of the window as call `number` of the whole watch.
    fn call(
        &mut self,
        analysis: &Analysis,
        i: usize,
        number: usize,
        ndjson: &mut Option<Vec<String>>,
    ) -> anyhow::Result<()> {
        if let Some(text) = self.text.as_mut() {
            let options = callscope::report::text::Options {
                color: self.color,
                only_failed: false,
            };
            let mut buf = Vec::new();
            callscope::report::text::write_verdict(analysis, i, &options, &mut buf)?;
            let verdict = String::from_utf8_lossy(&buf);
            // The verdict numbers the call within the window; the watch numbers calls as reported.
            let local = format!("\n#{} ", i + 1);
            match verdict.strip_prefix(&local) {
                Some(rest) => write!(text, "\n#{number} {rest}")?,
                None => text.write_all(verdict.as_bytes())?,
            }
        }
        if let Some(json) = self.json.as_mut() {
            if ndjson.is_none() {
                let mut buf = Vec::new();
                callscope::report::json::write_ndjson(analysis, &mut buf)?;
                *ndjson = Some(
                    String::from_utf8_lossy(&buf)
                        .lines()
                        .map(str::to_string)
                        .collect(),
                );
            }
            let line = ndjson
                .as_ref()
                .and_then(|lines| lines.get(i))
                .context("a call without its JSON line")?;
            let mut value: serde_json::Value = serde_json::from_str(line)?;
            value["index"] = serde_json::json!(number);
            serde_json::to_writer(&mut *json, &value)?;
            json.write_all(b"\n")?;
        }
        Ok(())
    }
}

/// The time of a call's last packet: its last SIP message or the last RTP packet of its streams.
fn last_activity(analysis: &Analysis, i: usize) -> i64 {
    let sip = analysis.calls.get(i).map_or(i64::MIN, |c| c.end_ts_ns);
    analysis
        .streams
        .iter()
        .filter(|s| s.call == Some(i))
        .map(|s| s.last_ts_ns)
        .fold(sip, i64::max)
}

/// A pcap file header (little endian, nanosecond timestamps) without records.
fn empty_pcap(link_type: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(1 << 16);
    v.extend_from_slice(&0xa1b2_3c4d_u32.to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&4u16.to_le_bytes());
    v.extend_from_slice(&0i32.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&262_144u32.to_le_bytes());
    v.extend_from_slice(&link_type.to_le_bytes());
    v
}

fn escape(s: &str) -> String {
    callscope::report::text::escape(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use callscope::capture::Start;

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

    /// The tracker after a replay, the JSON lines it wrote, (number, Call-ID, when) of each report, and
    /// the time of the last packet.
    type Replayed = (
        Tracker,
        Vec<serde_json::Value>,
        Vec<(usize, String, i64)>,
        i64,
    );

    /// Replays a capture into a tracker on the capture's own clock, ticking every second as `watch`
    /// does, then lets `after_s` seconds pass and stops.
    fn replay(names: &[&str], cap: usize, idle_s: u64, after_s: i64) -> Replayed {
        let mut pkts = Vec::new();
        let mut link = 0;
        for name in names {
            let (l, p) = packets(name);
            link = l;
            pkts.extend(p);
        }
        let mut tracker = Tracker::new("test", link, idle_ns(idle_s), cap);
        let mut json = Vec::new();
        let mut text = Vec::new();
        let mut notes = Vec::new();
        let mut order = Vec::new();
        let last_ts = pkts.last().map_or(0, |p| p.0);
        {
            let mut out = Out {
                text: Some(Box::new(&mut text)),
                json: Some(Box::new(&mut json)),
                notes: Box::new(&mut notes),
                color: false,
            };
            let mut record = |r: &ReportedCall<'_>| {
                order.push((r.number, r.call_id.to_string(), r.at_ns));
            };
            let mut next_tick = pkts.first().map_or(0, |p| p.0) + SECOND_NS;
            for (ts, data, len) in &pkts {
                while next_tick <= *ts {
                    tracker
                        .tick_reporting(next_tick, false, &mut out, &mut record)
                        .expect("tick");
                    next_tick += SECOND_NS;
                }
                tracker.push(*ts, data, *len);
                if tracker.over_cap() {
                    tracker
                        .tick_reporting(*ts, true, &mut out, &mut record)
                        .expect("flush at the cap");
                }
            }
            while next_tick <= last_ts + after_s * SECOND_NS {
                tracker
                    .tick_reporting(next_tick, false, &mut out, &mut record)
                    .expect("tick");
                next_tick += SECOND_NS;
            }
            tracker
                .tick_reporting(next_tick, true, &mut out, &mut record)
                .expect("final flush");
        }
        let text = String::from_utf8(text).expect("utf-8 text");
        assert_eq!(
            text.matches("\n#").count(),
            order.len(),
            "one verdict per call: {text}"
        );
        let values = String::from_utf8(json)
            .expect("utf-8 JSON")
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON object per line"))
            .collect();
        (tracker, values, order, last_ts)
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
        // Two captures of one lab session, one after the other: the first call's window is released
        // before the next calls begin, so frame numbers have to go on across windows.
        let names = ["sip-udp-basic-call.pcap", "sip-udp-outcomes.pcap"];
        let offline = offline(&names);
        let (tracker, json, order, last_ts) = replay(&names, WINDOW_CAP, 2, 40);
        assert_eq!(json.len(), offline.calls.len(), "{json:?}");
        for (k, call) in offline.calls.iter().enumerate() {
            let v = &json[k];
            assert_eq!(v["index"], serde_json::json!(k + 1));
            assert_eq!(v["call_id"], serde_json::json!(call.call_id));
            assert_eq!(v["state"], serde_json::json!(call.state.as_str()));
            assert_eq!(
                v["final_status"],
                serde_json::json!(call.final_response.as_ref().map(|f| f.status.0))
            );
            let offline_codes: Vec<String> = offline.diagnosis.calls[k]
                .iter()
                .map(|f| f.code.to_string())
                .collect();
            assert_eq!(codes(v), offline_codes, "call {}", k + 1);
            // Frame numbers go on across released windows: they are those of the whole capture.
            let frames: Vec<u64> = call.frames().collect();
            assert_eq!(v["frames"]["sip"], serde_json::json!(frames));
        }
        // All were reported by the clock, before the stop; the unanswered INVITE after Timer B.
        assert!(order
            .iter()
            .all(|(_, _, at)| *at <= last_ts + 40 * SECOND_NS));
        let unanswered = &offline.calls[4];
        let at = order[4].2;
        assert!(
            at >= unanswered.start_ts_ns + TIMER_B_NS
                && at < unanswered.start_ts_ns + 36 * SECOND_NS,
            "reported {} s after the INVITE",
            (at - unanswered.start_ts_ns) as f64 / 1e9
        );
        // The answered call was reported a few seconds after its BYE was answered, not at the end.
        assert!(order[0].2 < offline.calls[0].end_ts_ns + 4 * SECOND_NS);
        assert!(tracker.totals.windows_released >= 2);
        assert_eq!(tracker.totals.packets, offline.packets());
    }

    #[test]
    fn a_small_cap_flushes_windows_and_still_reports_each_call_once() {
        let names = ["sip-udp-basic-call.pcap"];
        let offline = offline(&names);
        let (tracker, json, _, _) = replay(&names, 8 << 10, 10, 0);
        assert!(tracker.totals.windows_flushed >= 3);
        let ids: Vec<&str> = json
            .iter()
            .map(|v| v["call_id"].as_str().expect("call_id"))
            .collect();
        assert_eq!(ids, vec![offline.calls[0].call_id.as_str()]);
        // Reported as it stood when the first window was flushed: the INVITE's frame is right.
        let first = offline.calls[0].frames().next();
        assert_eq!(json[0]["frames"]["sip"][0], serde_json::json!(first));
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

    #[test]
    fn the_window_is_a_capture_the_pipeline_reads() {
        let mut t = Tracker::new("x", LINKTYPE_ETHERNET, SECOND_NS, WINDOW_CAP);
        t.push(1_700_000_000_123_456_789, &[0u8; 60], 60);
        let file = CaptureFile::from_bytes("w".into(), t.window.clone()).expect("a capture");
        let a = callscope::analyze(&[file], &callscope::Options::default(), &NoProgress);
        assert_eq!(a.packets(), 1);
        assert_eq!(a.captures[0].first_ts_ns, Some(1_700_000_000_123_456_789));
        t.release();
        assert_eq!(t.first_frame, 2);
        assert_eq!(t.window.len(), PCAP_HEADER);
    }
}
