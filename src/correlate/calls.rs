//! A call built from its SIP messages: the outcome, timings and hops (RFC 3261 §17 transactions,
//! §12 dialogs), and the other dialogs and `sip,stat` counts.
//!
//! A call is everything with one Call-ID that contains an INVITE, or that begins with a request inside
//! an INVITE dialog (a BYE, re-INVITE, UPDATE, ...: the capture started mid-call, [`State::MidCall`]);
//! other Call-IDs (REGISTER, OPTIONS, SUBSCRIBE, MESSAGE, ...) are kept apart as other dialogs. `dialogs` groups the
//! messages as they arrive and hands a finished group here. A message is a retransmission when the
//! same request (method, CSeq) or response (status, CSeq) is the previous message that went the same
//! way (source and destination address and port) under the same Call-ID; ACKs and CANCELs are left
//! out, provisional responses never count. This is how Wireshark's `sip.resend` counts them (checked
//! against tshark on every capture in the tests), so `tshark -z sip,stat` and callscope agree.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;

use super::message::{Kind, Message, Method, Transport};
use crate::proto::sip::StatusCode;

/// A message of a call and whether it repeated an earlier one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// Shared with the transaction it belongs to, if any.
    pub msg: Arc<Message>,
    pub resent: bool,
}

/// How a call ended up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    /// A 2xx answered the INVITE.
    Answered,
    /// A final 3xx–6xx answered it (other than 487 after a CANCEL).
    Rejected,
    /// The caller cancelled it.
    Cancelled,
    /// No response at all reached the capture.
    Unanswered,
    /// Only provisional responses: still ringing when the capture ended.
    InProgress,
    /// The capture started after the call was set up: only requests inside its dialog (a BYE, a
    /// re-INVITE, ...), no initial INVITE and no answer.
    MidCall,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Answered => "answered",
            State::Rejected => "rejected",
            State::Cancelled => "cancelled",
            State::Unanswered => "unanswered",
            State::InProgress => "in_progress",
            State::MidCall => "mid_call",
        }
    }
}

/// Which side ended an answered or cancelled call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndedBy {
    Caller,
    Callee,
}

impl EndedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            EndedBy::Caller => "caller",
            EndedBy::Callee => "callee",
        }
    }
}

/// Milliseconds from the first INVITE to the call's milestones.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timings {
    /// First provisional response (100 Trying included).
    pub first_response_ms: Option<f64>,
    /// Post-dial delay: first 18x, or the 2xx when no 18x came.
    pub pdd_ms: Option<f64>,
    /// The final response (the outcome).
    pub final_ms: Option<f64>,
    /// The 2xx (answered calls).
    pub answer_ms: Option<f64>,
    /// The ACK of the 2xx.
    pub ack_ms: Option<f64>,
    /// From the 2xx to the first BYE.
    pub duration_ms: Option<f64>,
}

/// The final response that decided a call's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinalResponse {
    pub status: StatusCode,
    /// The reason phrase as sent.
    pub reason: String,
    pub frame: u64,
}

/// One SIP call (an INVITE dialog and everything with its Call-ID).
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub call_id: String,
    /// Every message in capture order.
    pub messages: Vec<Seen>,
    /// Where the first INVITE came from (for [`State::MidCall`]: the first message).
    pub caller: SocketAddr,
    /// Where the first INVITE went (for [`State::MidCall`]: the first message).
    pub callee: SocketAddr,
    pub from: String,
    pub to: String,
    pub transport: Transport,
    pub state: State,
    /// The final response that decided the outcome.
    pub final_response: Option<FinalResponse>,
    pub ended_by: Option<EndedBy>,
    pub timings: Timings,
    /// Each distinct (source, destination) pair, in order of first appearance.
    pub hops: Vec<(SocketAddr, SocketAddr)>,
    pub start_ts_ns: i64,
    pub end_ts_ns: i64,
}

impl Call {
    /// Frame numbers of all the call's messages.
    pub fn frames(&self) -> impl Iterator<Item = u64> + '_ {
        self.messages.iter().map(|s| s.msg.frame)
    }

    /// The first INVITE; for a call the capture caught mid-call, its first message (which may be a
    /// re-INVITE, a BYE, ...).
    pub fn invite(&self) -> &Message {
        let mut msgs = self.messages.iter().map(|s| &*s.msg);
        let first = msgs
            .clone()
            .next()
            .expect("a call has a message by construction");
        match self.state {
            State::MidCall => first,
            _ => msgs
                .find(|m| m.method() == Some(&Method::Invite))
                .unwrap_or(first),
        }
    }

    /// When the call was answered (its 2xx as the caller received it).
    pub fn answer_ts_ns(&self) -> Option<i64> {
        Some(self.invite().ts_ns + (self.timings.answer_ms? * 1e6) as i64)
    }

    /// Retransmitted messages.
    pub fn resent(&self) -> usize {
        self.messages.iter().filter(|s| s.resent).count()
    }
}

/// A Call-ID without an INVITE: registration, options ping, subscription, message.
#[derive(Clone, Debug, PartialEq)]
pub struct OtherDialog {
    pub call_id: String,
    /// The first request's method.
    pub method: String,
    pub messages: usize,
    pub resent: usize,
    /// The last final response's status.
    pub final_status: Option<StatusCode>,
    pub first_frame: u64,
    pub start_ts_ns: i64,
    pub src: SocketAddr,
    pub dst: SocketAddr,
}

/// Counts comparable with `tshark -z sip,stat`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SipStats {
    pub messages: u64,
    pub resent: u64,
    /// Requests by method name.
    pub requests: BTreeMap<String, u64>,
    /// Responses by status code.
    pub responses: BTreeMap<StatusCode, u64>,
    /// Messages without a Call-ID: counted, but part of no call.
    pub without_call_id: u64,
    /// Messages cut short (Content-Length beyond the datagram, snaplen): used as far as they go.
    pub truncated: u64,
    /// Messages counted but not correlated: beyond the open Call-ID limit or
    /// [`super::dialogs::MAX_MESSAGES_PER_CALL`] messages in one.
    pub untracked: u64,
    /// Messages of a Call-ID that had been finalized a moment before (late retransmissions):
    /// counted, not correlated.
    pub late: u64,
}

fn ms_between(from: i64, to: i64) -> f64 {
    (to - from) as f64 / 1e6
}

pub(crate) fn build_other(messages: Vec<Seen>) -> OtherDialog {
    let first = &messages[0].msg;
    let request = messages.iter().find_map(|s| s.msg.method());
    OtherDialog {
        call_id: first.call_id.clone(),
        method: request
            .or_else(|| first.cseq_method())
            .map(|m| m.as_str().to_string())
            .unwrap_or_default(),
        messages: messages.len(),
        resent: messages.iter().filter(|s| s.resent).count(),
        final_status: messages
            .iter()
            .filter_map(|s| s.msg.status())
            .rfind(|s| s.is_final()),
        first_frame: first.frame,
        start_ts_ns: first.ts_ns,
        src: first.src,
        dst: first.dst,
    }
}

/// Builds a call from its messages; `mid_call` when the capture started inside its dialog (then the
/// first message stands for the INVITE it missed).
pub(crate) fn build_call(messages: Vec<Seen>, mid_call: bool) -> Call {
    let msgs: Vec<&Message> = messages.iter().map(|s| &*s.msg).collect();
    let first = *msgs.first().expect("a call has a message by construction");
    let invite = if mid_call {
        first
    } else {
        msgs.iter()
            .copied()
            .find(|m| m.method() == Some(&Method::Invite))
            .unwrap_or(first)
    };
    let caller = invite.src;
    let t0 = invite.ts_ns;
    // The INVITEs sent outside the dialog (no To tag): the first one, and those repeated after an
    // authentication challenge with a new CSeq.
    let initial_cseqs: HashSet<u32> = msgs
        .iter()
        .filter(|m| m.method() == Some(&Method::Invite) && m.to_tag.is_none())
        .filter_map(|m| m.cseq_seq())
        .collect();
    let invite_responses: Vec<&Message> = msgs
        .iter()
        .copied()
        .filter(|m| {
            m.status().is_some()
                && m.cseq_method() == Some(&Method::Invite)
                && m.cseq_seq().is_some_and(|n| initial_cseqs.contains(&n))
        })
        .collect();
    // Prefer what the caller received; a capture taken further in may not show the caller's leg.
    let toward_caller: Vec<&Message> = invite_responses
        .iter()
        .copied()
        .filter(|m| m.dst == caller)
        .collect();
    let responses = if toward_caller.is_empty() {
        &invite_responses
    } else {
        &toward_caller
    };
    let status = |m: &Message| m.status().unwrap_or(StatusCode(0));
    let answer = responses.iter().find(|m| status(m).is_success());
    let last_final = responses
        .iter()
        .rev()
        .find(|m| status(m).is_final() && !status(m).is_success())
        .copied();
    let cancelled = msgs.iter().any(|m| m.method() == Some(&Method::Cancel));
    let final_msg = answer.copied().or(last_final);
    let state = if mid_call {
        State::MidCall
    } else if answer.is_some() {
        State::Answered
    } else if cancelled && last_final.is_none_or(|m| status(m) == StatusCode::REQUEST_TERMINATED) {
        State::Cancelled
    } else if last_final.is_some() {
        State::Rejected
    } else if responses.is_empty() {
        State::Unanswered
    } else {
        State::InProgress
    };
    let first_18x = responses
        .iter()
        .find(|m| (180..190).contains(&status(m).0))
        .map(|m| m.ts_ns);
    let answer_ts = answer.map(|m| m.ts_ns);
    let ack_ts = answer.and_then(|a| {
        msgs.iter()
            .find(|m| {
                m.method() == Some(&Method::Ack)
                    && m.ts_ns >= a.ts_ns
                    && m.cseq_seq() == a.cseq_seq()
            })
            .map(|m| m.ts_ns)
    });
    let bye = msgs.iter().find(|m| m.method() == Some(&Method::Bye));
    let ended_by = match (bye, cancelled) {
        (Some(bye), _) => Some(if bye.from_tag == invite.from_tag {
            EndedBy::Caller
        } else {
            EndedBy::Callee
        }),
        (None, true) => Some(EndedBy::Caller),
        (None, false) => None,
    };
    let mut hops: Vec<(SocketAddr, SocketAddr)> = Vec::new();
    for m in &msgs {
        if !hops.contains(&(m.src, m.dst)) {
            hops.push((m.src, m.dst));
        }
    }
    let timings = Timings {
        first_response_ms: responses.first().map(|m| ms_between(t0, m.ts_ns)),
        pdd_ms: first_18x.or(answer_ts).map(|t| ms_between(t0, t)),
        final_ms: final_msg.map(|m| ms_between(t0, m.ts_ns)),
        answer_ms: answer_ts.map(|t| ms_between(t0, t)),
        ack_ms: ack_ts.map(|t| ms_between(t0, t)),
        duration_ms: answer_ts
            .zip(bye.map(|b| b.ts_ns))
            .map(|(a, b)| ms_between(a, b)),
    };
    let start_ts_ns = msgs.first().map(|m| m.ts_ns).unwrap_or(t0);
    let end_ts_ns = msgs.last().map(|m| m.ts_ns).unwrap_or(t0);
    Call {
        call_id: invite.call_id.clone(),
        caller,
        callee: invite.dst,
        from: invite.from_uri.to_string(),
        to: invite.to_uri.to_string(),
        transport: invite.transport,
        state,
        final_response: final_msg.map(|m| FinalResponse {
            status: status(m),
            reason: match &m.kind {
                Kind::Response { reason, .. } => reason.to_string(),
                Kind::Request { .. } => String::new(),
            },
            frame: m.frame,
        }),
        ended_by,
        timings,
        hops,
        start_ts_ns,
        end_ts_ns,
        messages,
    }
}
