//! The terminal report's sections for what is SIP but not a call: registration bindings (one line
//! each, findings under the failed ones), the SIP peer pairs (a health table: those with findings
//! and the first [`LIST_ROWS`] healthy ones, every pair with `--all`), and the other
//! transactions that have a finding, and the DNS lookups that failed without explaining a call. Rendered as they arrive into spools (bounded memory), written
//! after the calls.

use std::io::{self, Write};

use super::spool::{Firsts, Spool};
use super::text::{escape, write_more, Options, LIST_ROWS};
use crate::correlate::dns::Lookup;
use crate::correlate::peers::Peer;
use crate::correlate::registrations::Registration;
use crate::correlate::transactions::Transaction;
use crate::diagnose::{Diagnosed, Finding};
use crate::words::{frames_list, plural};

/// The sections, as rendered so far.
pub(super) struct Items {
    registrations: Spool,
    registrations_failed: u64,
    /// The pairs with findings (every pair with `--all`).
    peers: Spool,
    peers_failing: u64,
    /// The first healthy pairs, by first frame (a busy trunk has one for every host that called).
    peers_healthy: Firsts,
    transactions: Spool,
    /// Transactions with no finding (counted, not listed).
    transactions_fine: u64,
    dns_failures: Spool,
}

fn findings(fs: &[Finding], options: &Options, out: &mut Vec<u8>) -> io::Result<()> {
    for f in fs {
        writeln!(
            out,
            "      {}: {}",
            options.tag(f.severity, f.code),
            escape(&f.summary)
        )?;
        writeln!(out, "          {}", escape(&f.cause))?;
        writeln!(out, "          evidence: {}", frames_list(&f.frames, 12))?;
    }
    Ok(())
}

fn registration(
    d: &Diagnosed<Registration>,
    options: &Options,
    out: &mut Vec<u8>,
) -> io::Result<()> {
    let r = &d.item;
    writeln!(
        out,
        "  {} from {} to {} {}: {}, {}, {}, {}",
        escape(&r.aor),
        r.client,
        r.registrar,
        r.transport.as_str(),
        r.state(),
        plural(u64::from(r.attempts), "REGISTER"),
        plural(u64::from(r.challenges), "challenge"),
        r.registered
            .map(|g| format!("granted {} s at frame {}", g.granted, g.at.frame))
            .unwrap_or_else(|| "never registered".into())
    )?;
    findings(&d.findings, options, out)
}

fn peer(d: &Diagnosed<Peer>, options: &Options, out: &mut Vec<u8>) -> io::Result<()> {
    let p = &d.item;
    // Written piece by piece: a capture can have a row for every one of its thousands of hosts.
    write!(out, "  {} → {} ", p.client, p.server)?;
    for (i, t) in p.transports.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(t.as_str().as_bytes());
    }
    out.extend_from_slice(b": ");
    if p.methods.is_empty() {
        out.extend_from_slice(b"no SIP request seen");
    }
    for (i, m) in p.methods.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        write!(
            out,
            "{} {} ({} ok, {} rejected, {} unanswered)",
            escape(m.method.as_str()),
            m.counts.sent,
            m.counts.ok,
            m.counts.rejected,
            m.counts.unanswered
        )?;
    }
    if p.syn_unanswered + p.refused > 0 {
        write!(
            out,
            "; connections: {} without SYN-ACK, {} refused",
            p.syn_unanswered, p.refused
        )?;
    }
    if p.icmp > 0 {
        write!(out, "; {}", plural(u64::from(p.icmp), "ICMP error"))?;
    }
    let k = p.keepalive();
    if k.probes > 0 {
        write!(
            out,
            "; keep-alive {}/{} failed{}",
            k.failed,
            k.probes,
            if k.down() { ", down at the end" } else { "" }
        )?;
    }
    for (name, p) in [("CRLF pings", k.crlf), ("STUN pings", k.stun)] {
        if p.sent > 0 {
            write!(out, "; {name} {}/{} answered", p.answered, p.sent)?;
        }
    }
    match (p.first_failure, p.last_failure) {
        (Some(first), Some(last)) if first.frame == last.frame => {
            write!(out, "; failure at frame {}", first.frame)?;
        }
        (Some(first), Some(last)) => write!(
            out,
            "; failures from frame {} to frame {}",
            first.frame, last.frame
        )?,
        _ => {}
    }
    out.push(b'\n');
    findings(&d.findings, options, out)
}

fn transaction(d: &Diagnosed<Transaction>, options: &Options, out: &mut Vec<u8>) -> io::Result<()> {
    let t = &d.item;
    writeln!(
        out,
        "  {} {} → {} {}{}: {}",
        t.method.as_str(),
        t.client,
        t.server,
        t.transport.as_str(),
        t.call
            .map(|i| format!(" (call #{})", i + 1))
            .unwrap_or_default(),
        t.response
            .as_ref()
            .map(|r| escape(&r.label()))
            .unwrap_or_else(|| "no response".into())
    )?;
    findings(&d.findings, options, out)
}

fn dns_failure(d: &Diagnosed<Lookup>, options: &Options, out: &mut Vec<u8>) -> io::Result<()> {
    let l = &d.item;
    writeln!(
        out,
        "  {} {} from {} to {} {} (id 0x{:04x})",
        l.qtype.name(),
        escape(&l.name),
        l.client,
        l.server,
        l.transport.as_str(),
        l.id
    )?;
    findings(&d.findings, options, out)
}

/// Renders into a buffer; an error writing to memory cannot happen, so it is dropped with the item.
fn render(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    f(&mut buf).ok().map(|()| buf)
}

impl Default for Items {
    fn default() -> Items {
        Items {
            registrations: Spool::default(),
            registrations_failed: 0,
            peers: Spool::default(),
            peers_failing: 0,
            peers_healthy: Firsts::new(LIST_ROWS),
            transactions: Spool::default(),
            transactions_fine: 0,
            dns_failures: Spool::default(),
        }
    }
}

impl Items {
    pub(super) fn registration(&mut self, d: &Diagnosed<Registration>, options: &Options) {
        self.registrations_failed += u64::from(!d.findings.is_empty());
        if let Some(b) = render(|out| registration(d, options, out)) {
            self.registrations.push((d.first.frame, 0), b);
        }
    }

    pub(super) fn peer(&mut self, d: &Diagnosed<Peer>, options: &Options) {
        let key = (d.first_frame, 0);
        if d.findings.is_empty() && !options.all {
            self.peers_healthy
                .offer(key, || render(|out| peer(d, options, out)));
            return;
        }
        self.peers_failing += u64::from(!d.findings.is_empty());
        if let Some(b) = render(|out| peer(d, options, out)) {
            self.peers.push(key, b);
        }
    }

    pub(super) fn transaction(&mut self, d: &Diagnosed<Transaction>, options: &Options) {
        if d.findings.is_empty() {
            self.transactions_fine += 1;
            return;
        }
        if let Some(b) = render(|out| transaction(d, options, out)) {
            self.transactions.push((d.request.frame, 0), b);
        }
    }

    pub(super) fn dns_failure(&mut self, d: &Diagnosed<Lookup>, options: &Options) {
        if let Some(b) = render(|out| dns_failure(d, options, out)) {
            self.dns_failures.push((d.first_frame(), 0), b);
        }
    }

    /// Writes the sections that have anything in them.
    pub(super) fn write(mut self, out: &mut impl Write) -> io::Result<()> {
        if self.registrations.len() > 0 {
            writeln!(
                out,
                "\nRegistrations: {}, {} with findings",
                plural(self.registrations.len(), "binding"),
                self.registrations_failed
            )?;
            self.registrations.drain(|b| out.write_all(b))?;
        }
        if self.transactions.len() > 0 {
            writeln!(
                out,
                "\nOther transactions with findings ({} more without):",
                self.transactions_fine
            )?;
            self.transactions.drain(|b| out.write_all(b))?;
        }
        let healthy = self.peers_healthy.offered();
        let pairs = self.peers.len() + healthy;
        if pairs > 0 {
            writeln!(
                out,
                "\nSIP peers (client → server): {}, {} with findings",
                plural(pairs, "pair"),
                self.peers_failing
            )?;
            let shown = self.peers_healthy.take_sorted();
            let more = healthy - shown.len() as u64;
            for (key, b) in shown {
                self.peers.push(key, b);
            }
            self.peers.drain(|b| out.write_all(b))?;
            write_more(out, more, "pair", " without findings")?;
        }
        if self.dns_failures.len() > 0 {
            writeln!(
                out,
                "\nDNS failures that explain no call: {}",
                plural(self.dns_failures.len(), "lookup")
            )?;
            self.dns_failures.drain(|b| out.write_all(b))?;
        }
        Ok(())
    }
}
