//! Per call: its packets at every point, the RTP between points, and where what was lost died.
//!
//! Takes in: the points (each with its analysis), their packet tables and the links between them.
//! Produces: the [`PointsCall`]s.
//!
//! A packet `p` holds from `src` to `dst` should be at `q` too when `q` lies on its way after `p`:
//! `p` and `q` share packets of that host pair and `p` saw them with the larger TTL (nearer the
//! sender), or, when they share none of that pair, `q` sees `dst` itself send (it is on `dst`'s host
//! or next to it). Missing at such a `q` while `q` was capturing (within its first and last packet,
//! offset applied), it was lost between `p` and `q`. Only pairs of points that share packets at all
//! are judged: of captures with nothing in common nothing can be said but that.

use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, SocketAddr};

use super::matching::Link;
use super::packets::{Packets, Seen, TCP, UDP};
use super::{MessageAt, Point, PointsCall, StreamBetween, Verdict};
use crate::correlate::transport::Connection;
use crate::diagnose::{DiagnosedCall, Severity};
use crate::words::{frames_list, plural};

/// Frames listed in a verdict's text per point.
const FRAMES_SHOWN: usize = 8;

/// A stream missing more than this share of its packets at the far point is a finding.
const LOSS_WARNING: f64 = 0.01;

struct Ctx<'a> {
    points: &'a [Point],
    tables: &'a [Packets],
    links: &'a std::collections::HashMap<(usize, usize), Link>,
}

pub(super) fn calls(
    points: &[Point],
    tables: &[Packets],
    links: &std::collections::HashMap<(usize, usize), Link>,
) -> Vec<PointsCall> {
    let ctx = Ctx {
        points,
        tables,
        links,
    };
    // Call-ID → position per point, in the order the points list them.
    let mut groups: Vec<(String, Vec<Option<usize>>)> = Vec::new();
    let mut by_id: BTreeMap<&str, usize> = BTreeMap::new();
    for (p, point) in points.iter().enumerate() {
        for (k, c) in point.analysis.calls.iter().enumerate() {
            let g = *by_id.entry(c.call_id.as_str()).or_insert_with(|| {
                groups.push((c.call_id.clone(), vec![None; points.len()]));
                groups.len() - 1
            });
            groups[g].1[p].get_or_insert(k);
        }
    }
    let mut out: Vec<PointsCall> = groups
        .into_iter()
        .map(|(call_id, at)| ctx.call(call_id, at))
        .collect();
    out.sort_by_key(|c| c.messages.first().map(|m| m.ts_ns));
    out
}

impl Ctx<'_> {
    fn name(&self, p: usize) -> &str {
        &self.points[p].name
    }

    fn diagnosed(&self, p: usize, at: &[Option<usize>]) -> Option<&DiagnosedCall> {
        at[p].and_then(|k| self.points[p].analysis.calls.get(k))
    }

    /// `ts` of point `p` on the reference clock.
    fn reference(&self, p: usize, ts: i64) -> i64 {
        ts.saturating_sub(self.points[p].offset.map_or(0, |o| o.ns))
    }

    /// Whether `q` was capturing at time `ts` of `p`'s clock (from its first to its last packet,
    /// the offset between them applied); unknown offset: not judged.
    fn covers(&self, q: usize, p: usize, ts: i64) -> bool {
        let (Some(offset), Some((first, last))) = (self.links[&(p, q)].offset, self.tables[q].span)
        else {
            return false;
        };
        let at_q = ts.saturating_add(offset.ns);
        let slack = offset.uncertainty_ns.unwrap_or(0);
        at_q.saturating_add(slack) >= first && at_q.saturating_sub(slack) <= last
    }

    /// Whether a packet `p` saw from `src` to `dst` goes past `q` after `p` (see the module doc).
    fn downstream(&self, p: usize, q: usize, src: IpAddr, dst: IpAddr) -> bool {
        let link = &self.links[&(p, q)];
        link.matched > 0
            && match link.upstream(src, dst) {
                Some(up) => up,
                None => self.tables[q].sends(dst).0 > 0 && self.tables[p].sends(dst).0 == 0,
            }
    }

    fn call(&self, call_id: String, at: Vec<Option<usize>>) -> PointsCall {
        let mut messages = Vec::new();
        let mut claimed: HashSet<(usize, u64)> = HashSet::new();
        let mut verdicts = Vec::new();
        let mut streams = Vec::new();
        for p in 0..self.points.len() {
            let Some(dc) = self.diagnosed(p, &at) else {
                continue;
            };
            let first_row = messages.len();
            for s in &dc.call.messages {
                let m = &s.msg;
                if claimed.contains(&(p, m.frame)) {
                    continue;
                }
                let row = self.row(p, m.frame, m.label(), m.ts_ns, m.src, m.dst);
                row.seen_at.iter().enumerate().for_each(|(q, f)| {
                    f.map(|f| claimed.insert((q, f)));
                });
                messages.push(row);
            }
            verdicts.extend(self.messages_lost(p, &messages[first_row..]));
            for c in &dc.evidence.connections {
                for syn in &c.syns {
                    if !claimed.contains(&(p, syn.frame)) {
                        let row =
                            self.row(p, syn.frame, "SYN".into(), syn.ts_ns, c.client, c.server);
                        row.seen_at.iter().enumerate().for_each(|(q, f)| {
                            f.map(|f| claimed.insert((q, f)));
                        });
                        messages.push(row);
                    }
                }
                verdicts.extend(self.syns(p, c));
            }
            for s in dc.own_streams() {
                for q in 0..self.points.len() {
                    if q != p && self.downstream(p, q, s.src.ip(), s.dst.ip()) {
                        if let Some(b) =
                            self.stream(p, q, s.src, s.dst, s.first_frame..=s.last_frame)
                        {
                            verdicts.extend(self.stream_lost(&b));
                            streams.push(b);
                        }
                    }
                }
            }
        }
        verdicts.extend(self.not_sent(&at, &streams));
        messages.sort_by_key(|m| m.ts_ns);
        verdicts.sort_by_key(|v| v.severity);
        dedup_verdicts(&mut verdicts);
        PointsCall {
            call_id,
            at,
            messages,
            streams,
            verdicts,
        }
    }

    /// A packet of `p` with the frame that carried it at every point.
    fn row(
        &self,
        p: usize,
        frame: u64,
        label: String,
        ts_ns: i64,
        src: SocketAddr,
        dst: SocketAddr,
    ) -> MessageAt {
        let seen = self.tables[p].frame(frame);
        let seen_at: Vec<Option<u64>> = (0..self.points.len())
            .map(|q| match (q == p, seen) {
                (true, _) => Some(frame),
                (false, Some(s)) => self.tables[q]
                    .with_identity(s.identity)
                    .next()
                    .map(|t| t.frame),
                (false, None) => None,
            })
            .collect();
        let missing_at = (0..self.points.len())
            .map(|q| {
                seen_at[q].is_none()
                    && seen.is_some_and(|s| self.covers(q, p, s.ts_ns))
                    && self.downstream(p, q, src.ip(), dst.ip())
            })
            .collect();
        MessageAt {
            label,
            ts_ns: self.reference(p, ts_ns),
            src,
            dst,
            seen_at,
            missing_at,
        }
    }

    /// The SIP messages of `p` (its rows) that never reached a point after it, one verdict per
    /// message (label, from, to) and point: a retransmitted message is one message sent again.
    fn messages_lost(&self, p: usize, rows: &[MessageAt]) -> Vec<Verdict> {
        // (point, label, src, dst) → (frames at p of the copies lost before it, copies it saw).
        type Message<'r> = (usize, &'r str, SocketAddr, SocketAddr);
        let mut groups: BTreeMap<Message<'_>, (Vec<u64>, u64)> = BTreeMap::new();
        for row in rows {
            for q in (0..self.points.len()).filter(|&q| q != p) {
                let key = (q, row.label.as_str(), row.src, row.dst);
                if row.missing_at[q] {
                    let g = groups.entry(key).or_default();
                    g.0.extend(row.seen_at[p]);
                } else if row.seen_at[q].is_some() {
                    groups.entry(key).or_default().1 += 1;
                }
            }
        }
        groups
            .into_iter()
            .filter(|(_, (lost, _))| !lost.is_empty())
            .map(|((q, label, src, dst), (lost, reached))| {
                let sent = lost.len() as u64 + reached;
                let times = if sent > 1 {
                    format!(", sent {sent} times,")
                } else {
                    String::new()
                };
                let (severity, what) = if reached == 0 {
                    (Severity::Error, "and never reached".to_string())
                } else {
                    (Severity::Warning, format!("and {} of them never reached", lost.len()))
                };
                Verdict {
                    code: "where.lost_between",
                    severity,
                    summary: format!(
                        "the {label} from {src} to {dst}{times} left '{}' ({}) {what} '{}', which was capturing then",
                        self.name(p),
                        frames_list(&lost, FRAMES_SHOWN),
                        self.name(q)
                    ),
                    cause: format!(
                        "lost between '{}' and '{}': a network firewall, a route or a SIP-aware device between them dropped it",
                        self.name(p),
                        self.name(q)
                    ),
                    frames: vec![(p, lost)],
                }
            })
            .collect()
    }

    /// Where the SYNs of a connection `p` holds, never answered there, died.
    fn syns(&self, p: usize, c: &Connection) -> Vec<Verdict> {
        if c.syns.is_empty() || c.syn_ack.is_some() || c.rst.is_some() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let at_p: Vec<u64> = c.syns.iter().map(|s| s.frame).collect();
        for q in (0..self.points.len()).filter(|&q| q != p) {
            if !self.downstream(p, q, c.client.ip(), c.server.ip()) {
                continue;
            }
            let covered: Vec<&Seen> = at_p
                .iter()
                .filter_map(|&f| self.tables[p].frame(f))
                .filter(|s| self.covers(q, p, s.ts_ns))
                .collect();
            if covered.is_empty() {
                continue;
            }
            let reached: Vec<&Seen> = covered
                .iter()
                .filter_map(|s| self.tables[q].with_identity(s.identity).next())
                .collect();
            let after = if covered.len() < at_p.len() {
                format!(
                    " ({} more after '{}''s last packet)",
                    at_p.len() - covered.len(),
                    self.name(q)
                )
            } else {
                String::new()
            };
            let left = format!(
                "the {} from {} to {} left '{}' ({}){after}",
                plural(covered.len() as u64, "SYN"),
                c.client,
                c.server,
                self.name(p),
                frames_list(
                    &covered.iter().map(|s| s.frame).collect::<Vec<_>>(),
                    FRAMES_SHOWN
                ),
            );
            let q_frames: Vec<u64> = reached.iter().map(|s| s.frame).collect();
            if reached.is_empty() {
                out.push(Verdict {
                    code: "where.lost_between",
                    severity: Severity::Error,
                    summary: format!(
                        "{left} and none reached '{}', which was capturing then and shares {} with '{}'",
                        self.name(q),
                        plural(self.links[&(p, q)].matched, "other packet"),
                        self.name(p)
                    ),
                    cause: format!(
                        "dropped between '{}' and '{}': a network firewall or a route between them, not {}'s host",
                        self.name(p),
                        self.name(q),
                        c.server.ip()
                    ),
                    frames: vec![(p, at_p.clone())],
                });
                continue;
            }
            let answers = answers_at(&self.tables[q], reached[0]);
            let (code, summary, cause) = if answers.is_empty() {
                (
                    "where.unanswered_past",
                    format!(
                        "{left} and arrived at '{}' ({}), where nothing answered them",
                        self.name(q),
                        frames_list(&q_frames, FRAMES_SHOWN)
                    ),
                    format!(
                        "they die past '{}': on {} itself, its host firewall drops them (a closed port would have answered RST), or a filter between '{}' and it",
                        self.name(q),
                        c.server.ip(),
                        self.name(q)
                    ),
                )
            } else {
                (
                    "where.lost_between",
                    format!(
                        "{left} and arrived at '{}' ({}), whose answers ({}) never came back to '{}'",
                        self.name(q),
                        frames_list(&q_frames, FRAMES_SHOWN),
                        frames_list(&answers, FRAMES_SHOWN),
                        self.name(p)
                    ),
                    format!(
                        "the answers were lost between '{}' and '{}', on the way back (asymmetric route or a firewall dropping the return)",
                        self.name(q),
                        self.name(p)
                    ),
                )
            };
            let mut frames = vec![(p, at_p.clone()), (q, q_frames)];
            frames[1].1.extend(&answers);
            out.push(Verdict {
                code,
                severity: Severity::Error,
                summary,
                cause,
                frames,
            });
        }
        out
    }

    /// The RTP from `src` to `dst` that `p` saw in a range of its frames, as it reached `q`.
    fn stream(
        &self,
        p: usize,
        q: usize,
        src: SocketAddr,
        dst: SocketAddr,
        frames: std::ops::RangeInclusive<u64>,
    ) -> Option<StreamBetween> {
        let offset = self.links[&(p, q)].offset?.ns;
        let sent: Vec<&Seen> = self.tables[p]
            .flow_frames(UDP, src, dst, frames)
            .filter(|s| self.covers(q, p, s.ts_ns))
            .collect();
        let (first, last) = (sent.first()?, sent.last()?);
        let delays: Vec<i64> = sent
            .iter()
            .filter_map(|s| {
                let r = self.tables[q].with_identity(s.identity).next()?;
                Some(r.ts_ns.saturating_sub(offset).saturating_sub(s.ts_ns))
            })
            .collect();
        let hops = sent.iter().find_map(|s| {
            self.tables[q]
                .with_identity(s.identity)
                .next()
                .map(|r| s.ttl.abs_diff(r.ttl))
        });
        let n = delays.len() as i64;
        let delay_ns = (n > 0).then(|| {
            let min = delays.iter().copied().min().unwrap_or_default();
            let max = delays.iter().copied().max().unwrap_or_default();
            (min, delays.iter().sum::<i64>() / n, max)
        });
        let jitter_ns =
            (n > 1).then(|| delays.windows(2).map(|w| (w[1] - w[0]).abs()).sum::<i64>() / (n - 1));
        Some(StreamBetween {
            src,
            dst,
            from: p,
            to: q,
            sent: sent.len() as u64,
            received: delays.len() as u64,
            frames: (first.frame, last.frame),
            delay_ns,
            jitter_ns,
            hops,
        })
    }

    fn stream_lost(&self, b: &StreamBetween) -> Option<Verdict> {
        let lost = b.sent - b.received;
        if (lost as f64) <= LOSS_WARNING * b.sent as f64 {
            return None;
        }
        let (p, q) = (self.name(b.from), self.name(b.to));
        let (severity, what) = if b.received == 0 {
            (Severity::Error, "none reached".to_string())
        } else {
            (
                Severity::Warning,
                format!("{} of them never reached", plural(lost, "packet")),
            )
        };
        Some(Verdict {
            code: "where.lost_between",
            severity,
            summary: format!(
                "RTP from {} to {} left '{p}' ({}, frames {}–{}) and {what} '{q}', which was capturing then",
                b.src,
                b.dst,
                plural(b.sent, "packet"),
                b.frames.0,
                b.frames.1
            ),
            cause: format!(
                "lost in the network between '{p}' and '{q}' (a firewall or route between them), not at the sender"
            ),
            frames: vec![(b.from, vec![b.frames.0, b.frames.1])],
        })
    }

    /// RTP the call's SDP expected that no point saw leave its sender, though a point sees the
    /// sender's own traffic.
    fn not_sent(&self, at: &[Option<usize>], streams: &[StreamBetween]) -> Vec<Verdict> {
        let mut out = Vec::new();
        let Some((p, dc)) = (0..self.points.len()).find_map(|p| Some((p, self.diagnosed(p, at)?)))
        else {
            return out;
        };
        if dc.call.answer_ts_ns().is_none() {
            return out;
        }
        let media = |request: bool| {
            dc.call.messages.iter().find_map(|s| {
                let m = &s.msg;
                (m.method().is_some() == request)
                    .then_some(m.sdp.as_ref())
                    .flatten()
                    .and_then(|sdp| sdp.iter().find(|x| x.kind == "audio" && x.port != 0))
                    .and_then(|x| Some((SocketAddr::new(x.addr?, x.port), m.frame)))
            })
        };
        let (Some(offer), Some(answer)) = (media(true), media(false)) else {
            return out;
        };
        for (sender, receiver) in [(offer, answer), (answer, offer)] {
            let seen_anywhere = (0..self.points.len()).any(|q| {
                self.diagnosed(q, at).is_some_and(|c| {
                    c.own_streams()
                        .any(|s| s.src == sender.0 || s.dst == receiver.0)
                })
            }) || streams.iter().any(|s| s.src == sender.0);
            if seen_anywhere {
                continue;
            }
            // The point nearest the sender: its packets have the largest TTL there.
            let Some((q, (n, _))) = (0..self.points.len())
                .map(|q| (q, self.tables[q].sends(sender.0.ip())))
                .filter(|&(_, (n, _))| n > 0)
                .max_by_key(|&(q, (_, ttl))| (ttl, std::cmp::Reverse(q)))
            else {
                continue;
            };
            out.push(Verdict {
                code: "where.not_sent",
                severity: Severity::Error,
                summary: format!(
                    "no capture point saw RTP from {} to {} (its SDP, frame {} at '{}'), though '{}' sees {} send ({})",
                    sender.0,
                    receiver.0,
                    sender.1,
                    self.name(p),
                    self.name(q),
                    sender.0.ip(),
                    plural(n as u64, "packet")
                ),
                cause: format!(
                    "{} never sent its RTP: its media engine, or its own outbound firewall (a host's capture sees packets before they leave it, after its firewall's output chain)",
                    sender.0.ip()
                ),
                frames: vec![(p, vec![sender.1])],
            });
        }
        out
    }
}

/// SYN-ACKs and RSTs `q` saw going back for the SYN `syn` it saw.
fn answers_at(q: &Packets, syn: &Seen) -> Vec<u64> {
    q.flow(TCP, syn.dst, syn.src)
        .filter(|s| s.ts_ns >= syn.ts_ns && s.tcp_flags & 0x06 != 0)
        .map(|s| s.frame)
        .collect()
}

/// One verdict per statement: the same loss can be seen from two points' analyses of one call.
fn dedup_verdicts(v: &mut Vec<Verdict>) {
    let mut seen = HashSet::new();
    v.retain(|x| seen.insert(x.summary.clone()));
}
