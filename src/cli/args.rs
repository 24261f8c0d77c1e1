//! Command-line arguments (clap derive).

use std::path::PathBuf;

use callscope::analysis::filter::{self, Code, Network, Time};
use callscope::analysis::Filter;
use callscope::correlate::calls::State;
use clap::{Parser, Subcommand};

/// Find out why VoIP calls failed, from a packet capture.
#[derive(Parser, Debug)]
#[command(name = "callscope", version, about, after_help = EXIT_CODES)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

const EXIT_CODES: &str =
    "Exit codes: 0 analysed; 2 usage or input error (unreadable file, not a capture).";

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Analyse one or more capture files (pcap, pcapng, optionally gzip-compressed) as one capture.
    Analyze(Analyze),
    /// List the SIP calls: start, parties, outcome, setup time, duration.
    Calls(Inputs),
    /// Draw the ladder diagram of one call.
    Flow(Flow),
    /// List the RTP streams with Wireshark's figures (the columns of `tshark -z rtp,streams`).
    Streams(Inputs),
    /// Write one call's packets (SIP, media, the TCP/ICMP evidence tied to it) to a small pcap.
    Extract(Extract),
    /// Capture live on an interface and report each call when it ends (needs the feature `live`).
    Watch(Watch),
    /// Browse the calls in the terminal: failure patterns, the call list worst first, filter as you
    /// type, a call's findings, ladder and media; its packets or JSON to a file.
    Browse(Inputs),
}

#[derive(clap::Args, Debug)]
pub struct Extract {
    #[command(flatten)]
    pub inputs: Inputs,
    /// The call: its number in `callscope calls`, or its Call-ID. Without it, every call the
    /// criteria below pick goes into the pcap.
    #[arg(long, value_name = "INDEX|CALL-ID", required_unless_present_any = SELECTORS)]
    pub call: Option<String>,
    /// The pcap to write.
    #[arg(short, long, value_name = "PATH")]
    pub output: PathBuf,
    /// Pseudonymise addresses, numbers, user parts and host names in the packets (lengths and
    /// checksums kept right), consistently with `analyze --redact`.
    #[arg(long)]
    pub redact: bool,
}

/// The capture files to read.
#[derive(clap::Args, Debug, Clone)]
pub struct Inputs {
    /// Capture files; several files (e.g. rotated captures) are merged by time. `-` reads stdin.
    #[arg(
        required_unless_present = "at",
        conflicts_with = "at",
        value_name = "FILE"
    )]
    pub files: Vec<PathBuf>,
    /// `analyze` only: a capture taken at one point of the same calls, named (`--at proxy=p.pcap
    /// --at app=a.pcap`); the points are put together to say where lost packets died. A name given
    /// twice adds a file to that point. The first point's clock is the reference.
    #[arg(long, value_name = "NAME=FILE")]
    pub at: Vec<String>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Analyse only the packets this BPF filter (tcpdump syntax) accepts; the others keep their frame
    /// numbers (needs the feature `live`).
    #[arg(long, value_name = "BPF")]
    pub filter: Option<String>,
    /// A TLS key log (NSS format, as SSLKEYLOGFILE writes) to decrypt SIP over TLS; repeatable.
    /// Secrets in pcapng Decryption Secrets Blocks are used without it.
    #[arg(long, value_name = "FILE")]
    pub keylog: Vec<PathBuf>,
    /// A TLS server's RSA private key (PEM), to decrypt TLS 1.2 sessions with RSA key exchange;
    /// `KEY.pem@IP:PORT` uses it only for that server. Repeatable.
    #[arg(long, value_name = "KEY.pem[@IP:PORT]")]
    pub tls_key: Vec<String>,
    /// Also unwrap HEP1/2 feeds (a proxy's or SBC's mirror of its SIP) sent to this UDP port; HEP3 is
    /// recognised on any port, HEP1/2 on 9060 always. Repeat the option or separate ports by commas.
    #[arg(long = "hep-port", value_name = "PORT", value_delimiter = ',')]
    pub hep_ports: Vec<u16>,
    #[command(flatten)]
    pub select: Select,
}

/// Which calls are reported: every criterion given must hold. The whole capture is analysed either
/// way (frame and call numbers stay the capture's); the calls left out are counted.
#[derive(clap::Args, Debug, Default, Clone)]
#[command(next_help_heading = "Which calls")]
pub struct Select {
    /// Calls with this number at the end of the user part of From, To, a Request-URI or
    /// P-Asserted-Identity (`+`, separators and leading zeros ignored: 030 1234 matches +49301234).
    #[arg(long, value_name = "DIGITS", value_parser = filter::parse_number)]
    pub number: Option<String>,
    /// Calls whose SIP, SDP or RTP used this address or network.
    #[arg(long, value_name = "ADDR[/PREFIX]", value_parser = Network::parse)]
    pub ip: Option<Network>,
    /// Calls whose Call-ID contains this text.
    #[arg(long, value_name = "TEXT")]
    pub call_id: Option<String>,
    /// Calls that started at this time or later: RFC 3339 (2026-01-02T21:52:00Z), a time of day in
    /// UTC (21:52:30) or an offset from the capture's first packet (+90s, 1m30s).
    #[arg(long, value_name = "TIME", value_parser = Time::parse)]
    pub from: Option<Time>,
    /// Calls that started at this time or earlier (as --from).
    #[arg(long, value_name = "TIME", value_parser = Time::parse)]
    pub to: Option<Time>,
    /// Calls with this finding code (sip.rejected, or a family: media.*), final status (403) or
    /// status class (4xx).
    #[arg(long, value_name = "CODE", value_parser = Code::parse)]
    pub code: Option<Code>,
    /// Calls that ended this way.
    #[arg(long, value_name = "STATE")]
    pub state: Option<CallState>,
}

impl Select {
    pub fn filter(&self) -> Filter {
        Filter {
            number: self.number.clone(),
            ip: self.ip,
            call_id: self.call_id.clone(),
            from: self.from,
            to: self.to,
            code: self.code.clone(),
            state: self.state.map(CallState::state),
        }
    }
}

/// `--state` values.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallState {
    Answered,
    Rejected,
    Cancelled,
    Unanswered,
    #[value(alias = "in-progress")]
    InProgress,
    /// The capture started after the call was set up.
    #[value(alias = "mid-call")]
    MidCall,
}

impl CallState {
    fn state(self) -> State {
        match self {
            CallState::Answered => State::Answered,
            CallState::Rejected => State::Rejected,
            CallState::Cancelled => State::Cancelled,
            CallState::Unanswered => State::Unanswered,
            CallState::InProgress => State::InProgress,
            CallState::MidCall => State::MidCall,
        }
    }
}

/// The criteria that pick calls without `--call` (for `flow` and `extract`).
const SELECTORS: [&str; 7] = ["number", "ip", "call_id", "from", "to", "code", "state"];

/// `callscope watch`.
#[derive(clap::Args, Debug)]
pub struct Watch {
    /// The network interface to capture on.
    #[arg(long, short = 'i', value_name = "IFACE")]
    pub interface: String,
    /// Capture only the packets this BPF filter (tcpdump syntax) accepts.
    #[arg(long, value_name = "BPF")]
    pub filter: Option<String>,
    /// Also write every captured packet to this pcap file (frame numbers match the report).
    #[arg(long, value_name = "PATH")]
    pub write: Option<PathBuf>,
    /// Write one JSON object per reported call, one per line, to PATH (`-` for stdout, replacing the
    /// text).
    #[arg(long, value_name = "PATH")]
    pub json_lines: Option<PathBuf>,
    /// A call without packets (SIP or its RTP) for this long has ended. Raise it when the filter
    /// hides RTP and calls last long.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub idle: u64,
    #[command(flatten)]
    pub select: Select,
}

#[derive(clap::Args, Debug)]
pub struct Flow {
    #[command(flatten)]
    pub inputs: Inputs,
    /// The call: its number in `callscope calls`, or its Call-ID. Without it, the ladder of every call
    /// the criteria below pick.
    #[arg(long, value_name = "INDEX|CALL-ID", required_unless_present_any = SELECTORS)]
    pub call: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct Analyze {
    #[command(flatten)]
    pub inputs: Inputs,
    /// Also write the JSON report to PATH (`-` for stdout, replacing the text report).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Also write a self-contained HTML report (call table, ladders, RTP plots) to PATH.
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,
    /// Also write one JSON object per call, one per line (NDJSON), to PATH (`-` for stdout).
    #[arg(long, value_name = "PATH")]
    pub ndjson: Option<PathBuf>,
    /// Exit with 1 when a call has a finding of this severity or worse.
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,
    /// List only calls with an error or warning finding.
    #[arg(long)]
    pub only_failed: bool,
    /// List every call and show every call with findings in detail (by default the list stops at
    /// 50 rows and the details are the worst call of each failure pattern).
    #[arg(long)]
    pub all: bool,
    /// Report only this call (its number in the list, or its Call-ID), with its ladder.
    #[arg(long, value_name = "INDEX|CALL-ID")]
    pub call: Option<String>,
    /// Pseudonymise addresses, numbers, user parts and host names in every report, consistently.
    #[arg(long)]
    pub redact: bool,
    /// Colour the severities: auto (when stdout is a terminal), always, never.
    #[arg(long, value_name = "WHEN", default_value = "auto")]
    pub color: ColorChoice,
}

/// `--fail-on` levels.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    Error,
    Warning,
}

/// `--color` choices.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}
