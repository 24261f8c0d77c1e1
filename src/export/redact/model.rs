//! Redaction of an [`Analysis`]: every address, URI, Call-ID, host name, display name and phone
//! number in the model and in the findings' text, so that every renderer prints redacted text as is.
//!
//! Takes an analysis; produces a redacted copy with capture paths, counts and frame numbers kept.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;

use super::Redactor;
use crate::analysis::Analysis;
use crate::correlate::calls::Call;
use crate::correlate::dns::Lookup;
use crate::correlate::media::Stream;
use crate::correlate::message::{Kind, Message};
use crate::correlate::peers::Peer;
use crate::correlate::registrations::Registration;
use crate::correlate::transactions::Transaction;
use crate::correlate::transport::{Connection, IcmpError};
use crate::diagnose::Finding;
use crate::proto::dns::Data;

/// Every address the analysis names (so that none becomes another's pseudonym).
pub(super) fn addresses(a: &Analysis) -> HashSet<IpAddr> {
    let mut out = HashSet::new();
    for c in &a.calls {
        for s in &c.messages {
            out.extend([s.msg.src.ip(), s.msg.dst.ip()]);
            out.extend(s.msg.sdp.iter().flatten().filter_map(|m| m.addr));
        }
    }
    for o in &a.other_dialogs {
        out.extend([o.src.ip(), o.dst.ip()]);
    }
    for c in &a.connections {
        out.extend([c.client.ip(), c.server.ip()]);
    }
    for e in &a.icmp_errors {
        out.extend([e.reporter, e.src.ip(), e.dst.ip()]);
    }
    for s in &a.streams {
        out.extend([s.src.ip(), s.dst.ip()]);
    }
    for t in &a.transactions {
        out.extend([t.client.ip(), t.server.ip()]);
    }
    for r in &a.registrations {
        out.extend([r.client.ip(), r.registrar.ip()]);
    }
    for p in &a.peers {
        out.extend([p.client, p.server.ip()]);
    }
    for l in &a.dns_failures {
        out.extend([l.client.ip(), l.server.ip()]);
    }
    for ev in a.calls.iter().map(|c| &c.evidence) {
        for s in &ev.stun {
            out.extend([s.client.ip(), s.server.ip()]);
        }
        for g in &ev.icmp {
            out.insert(g.last.reporter);
        }
        for f in &ev.fax {
            out.extend([f.src.ip(), f.dst.ip()]);
        }
        for l in &ev.dns {
            out.extend([l.client.ip(), l.server.ip()]);
        }
    }
    out.extend(a.vantage.hosts.iter().map(|h| h.ip));
    out
}

impl Redactor {
    fn message(&self, m: &Message) -> Message {
        let mut m = m.clone();
        m.src = self.socket(m.src);
        m.dst = self.socket(m.dst);
        // The display name first, so that free text mentioning it afterwards is covered.
        m.from_display = m.from_display.as_deref().map(|d| self.display(d).into());
        m.from_uri = self.text(&m.from_uri).into();
        m.to_uri = self.text(&m.to_uri).into();
        m.kind = match m.kind {
            Kind::Request { method, uri } => Kind::Request {
                method,
                uri: self.text(&uri).into(),
            },
            Kind::Response { status, reason } => Kind::Response {
                status,
                reason: self.text(&reason).into(),
            },
        };
        m.call_id = self.call_id(&m.call_id);
        m.contact = m.contact.as_deref().map(|c| self.text(c).into());
        for r in &mut m.reasons {
            r.text = r.text.as_deref().map(|t| self.text(t));
        }
        for w in &mut m.warnings {
            w.agent = self.host(&w.agent);
            w.text = self.text(&w.text);
        }
        for d in &mut m.ms_diagnostics {
            d.source = d.source.as_deref().map(|s| self.host(s));
            d.reason = d.reason.as_deref().map(|r| self.text(r));
            for (_, v) in &mut d.attrs {
                *v = self.text(v);
            }
            for report in &mut d.media {
                for (_, v) in &mut report.fields {
                    *v = self.text(v);
                }
            }
        }
        for media in m.sdp.iter_mut().flatten() {
            media.addr = media.addr.map(|a| self.ip(a));
            for c in &mut media.candidates {
                c.addr = self.host(&c.addr);
            }
        }
        m.user_agent = m.user_agent.as_deref().map(|u| self.text(u).into());
        for a in &mut m.asserted {
            *a = self.text(a);
        }
        if let Some(f) = &mut m.fields {
            if let Some(c) = &mut f.credentials {
                c.username = c.username.as_deref().map(|u| self.user(u));
                c.realm = c.realm.as_deref().map(|r| self.host(r));
            }
            if let Some(c) = &mut f.challenge {
                c.realm = c.realm.as_deref().map(|r| self.host(r));
            }
            for b in &mut f.bindings {
                b.uri = self.text(&b.uri);
            }
        }
        m
    }

    fn findings(&self, findings: &mut [Finding]) {
        for f in findings {
            f.summary = self.text(&f.summary);
            f.cause = self.text(&f.cause);
        }
    }

    fn transaction(&self, t: &mut Transaction) {
        t.client = self.socket(t.client);
        t.server = self.socket(t.server);
        t.request = Arc::new(self.message(&t.request));
        t.response = t.response.as_ref().map(|r| Arc::new(self.message(r)));
    }

    fn registration(&self, r: &mut Registration) {
        // The username first, so that the findings' text mentioning it is covered.
        r.username = r.username.as_deref().map(|u| self.user(u));
        r.aor = self.text(&r.aor);
        r.contact = self.text(&r.contact);
        r.client = self.socket(r.client);
        r.registrar = self.socket(r.registrar);
        r.call_id = self.call_id(&r.call_id);
        r.user_agent = r.user_agent.as_deref().map(|u| self.text(u));
        for f in &mut r.failures {
            f.reason = self.text(&f.reason);
        }
    }

    fn peer(&self, p: &mut Peer) {
        p.client = self.ip(p.client);
        p.server = self.socket(p.server);
    }

    fn call(&self, c: &Call) -> Call {
        let mut c = c.clone();
        for seen in &mut c.messages {
            seen.msg = Arc::new(self.message(&seen.msg));
        }
        c.call_id = self.call_id(&c.call_id);
        c.caller = self.socket(c.caller);
        c.callee = self.socket(c.callee);
        c.from = self.text(&c.from);
        c.to = self.text(&c.to);
        if let Some(f) = &mut c.final_response {
            f.reason = self.text(&f.reason);
        }
        for h in &mut c.hops {
            *h = (self.socket(h.0), self.socket(h.1));
        }
        c
    }

    fn connection(&self, c: &mut Connection) {
        c.client = self.socket(c.client);
        c.server = self.socket(c.server);
        if let Some(tls) = &mut c.tls {
            tls.sni = tls.sni.as_deref().map(|s| self.host(s));
        }
    }

    fn icmp_error(&self, e: &mut IcmpError) {
        e.reporter = self.ip(e.reporter);
        e.src = self.socket(e.src);
        e.dst = self.socket(e.dst);
    }

    /// A DNS lookup: its endpoints, the name asked and the names and addresses answered (before the
    /// findings, so that their text mentioning the names is covered).
    /// Returns the name asked and its pseudonym: an SRV name (`_sip._tcp.` before a domain) keeps its
    /// prefix, which free text cannot tell from part of a host name, so the caller replaces it in findings.
    fn lookup(&self, l: &mut Lookup) -> (String, String) {
        l.client = self.socket(l.client);
        l.server = self.socket(l.server);
        let asked = l.name.clone();
        l.name = match asked
            .match_indices("._")
            .last()
            .and_then(|(i, _)| asked[i + 2..].split_once('.'))
        {
            Some((_, domain)) if asked.starts_with('_') => {
                let prefix = &asked[..asked.len() - domain.len()];
                format!("{prefix}{}", self.host(domain))
            }
            _ => self.host(&asked),
        };
        for r in l.answer.iter_mut().flat_map(|a| a.records.iter_mut()) {
            r.name = self.host(&r.name);
            r.data = match &r.data {
                Data::A(v4) => match self.ip(IpAddr::V4(*v4)) {
                    IpAddr::V4(a) => Data::A(a),
                    IpAddr::V6(_) => Data::Other(4),
                },
                Data::Aaaa(v6) => match self.ip(IpAddr::V6(*v6)) {
                    IpAddr::V6(a) => Data::Aaaa(a),
                    IpAddr::V4(_) => Data::Other(16),
                },
                Data::Cname(n) => Data::Cname(self.host(n)),
                Data::Srv {
                    priority,
                    weight,
                    port,
                    target,
                } => Data::Srv {
                    priority: *priority,
                    weight: *weight,
                    port: *port,
                    target: self.host(target),
                },
                Data::Naptr {
                    order,
                    preference,
                    flags,
                    service,
                    replacement,
                } => Data::Naptr {
                    order: *order,
                    preference: *preference,
                    flags: flags.clone(),
                    service: service.clone(),
                    replacement: self.host(replacement),
                },
                Data::Other(n) => Data::Other(*n),
            };
        }
        (asked, l.name.clone())
    }

    /// The findings, with the SRV names of `lookups` replaced first.
    fn lookup_findings(&self, names: &[(String, String)], findings: &mut [Finding]) {
        for f in findings.iter_mut() {
            for (from, to) in names.iter().filter(|(from, _)| from.starts_with('_')) {
                f.summary = f.summary.replace(from.as_str(), to);
                f.cause = f.cause.replace(from.as_str(), to);
            }
        }
        self.findings(findings);
    }

    fn stream(&self, s: &mut Stream) {
        s.src = self.socket(s.src);
        s.dst = self.socket(s.dst);
    }

    /// A redacted copy of an analysis: every address, URI, Call-ID, host name, display name and phone
    /// number in the model and in the findings' text; capture paths, counts and frame numbers kept.
    pub fn analysis(&self, a: &Analysis) -> Analysis {
        let mut a = a.clone();
        for d in &mut a.calls {
            d.call = self.call(&d.call);
            let ev = &mut d.evidence;
            ev.streams.iter_mut().for_each(|s| self.stream(s));
            ev.connections.iter_mut().for_each(|c| self.connection(c));
            for s in &mut ev.stun {
                s.client = self.socket(s.client);
                s.server = self.socket(s.server);
            }
            for g in &mut ev.icmp {
                g.errors.iter_mut().for_each(|e| self.icmp_error(e));
                self.icmp_error(&mut g.last);
            }
            for f in &mut ev.fax {
                f.src = self.socket(f.src);
                f.dst = self.socket(f.dst);
            }
            let names: Vec<(String, String)> = ev.dns.iter_mut().map(|l| self.lookup(l)).collect();
            self.lookup_findings(&names, &mut d.findings);
        }
        for o in &mut a.other_dialogs {
            o.call_id = self.call_id(&o.call_id);
            o.src = self.socket(o.src);
            o.dst = self.socket(o.dst);
        }
        a.connections.iter_mut().for_each(|c| self.connection(c));
        a.icmp_errors.iter_mut().for_each(|e| self.icmp_error(e));
        a.streams.iter_mut().for_each(|s| self.stream(s));
        for e in &mut a.transport_events {
            e.src = self.socket(e.src);
            e.dst = self.socket(e.dst);
            e.summary = self.text(&e.summary);
            e.cause = self.text(&e.cause);
        }
        for t in &mut a.transactions {
            self.transaction(&mut t.item);
            self.findings(&mut t.findings);
        }
        for r in &mut a.registrations {
            let username = r.username.clone();
            self.registration(&mut r.item);
            self.findings(&mut r.findings);
            // The findings quote the authentication user, which free text cannot tell from a word.
            if let (Some(from), Some(to)) = (username, r.username.as_deref()) {
                let (from, to) = (format!("\"{from}\""), format!("\"{to}\""));
                for f in &mut r.findings {
                    f.summary = f.summary.replace(&from, &to);
                }
            }
        }
        for p in &mut a.peers {
            self.peer(&mut p.item);
            self.findings(&mut p.findings);
        }
        for l in &mut a.dns_failures {
            let names = [self.lookup(&mut l.item)];
            self.lookup_findings(&names, &mut l.findings);
        }
        for p in &mut a.patterns {
            p.host = self.ip(p.host);
            p.target = self.socket(p.target);
            p.summary = self.text(&p.summary);
        }
        for h in &mut a.vantage.hosts {
            h.ip = self.ip(h.ip);
            h.mac = h.mac.map(|m| self.mac(m));
        }
        a.vantage.hosts.sort_by_key(|h| h.ip);
        for ip in &mut a.vantage.common {
            *ip = self.ip(*ip);
        }
        a
    }
}
