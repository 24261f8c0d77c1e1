//! What the rules need to know about one call, derived once from the model: the offer and answer SDP,
//! the 2xx and the BYE, the call's RTP streams split by direction, holds, and the windows around its
//! start and end in which what happens is the normal consequence of a call starting or ending
//! ([`Teardown`], [`CallFacts::setup`]).
//!
//! Takes a finished call with its evidence; produces a [`CallFacts`] view that borrows them. Does not
//! judge anything; the rules do.

use std::net::{IpAddr, SocketAddr};

use crate::correlate::calls::{Call, State};
use crate::correlate::dns::Lookup;
use crate::correlate::engine::FinishedCall;
use crate::correlate::fax::Fax;
use crate::correlate::media::{Stream, StunCheck};
use crate::correlate::message::{Message, Method, SdpMedia};
use crate::proto::sdp;
use crate::proto::sip::StatusCode;
use crate::words::frame_range;

/// What a capture point can see of a call's media.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MediaView {
    /// Some of its media (RTP, STUN, UDPTL) was seen, or RTP of other calls reached a capture point
    /// its media would pass.
    Visible,
    /// No RTP of any call had reached this capture point (filtered to signalling only?).
    NoRtp,
    /// Every packet so far was from or to `at`, which is none of the call's media endpoints: its
    /// media cannot pass there (a proxy's own interface while the media goes between the ends).
    OffPath { at: IpAddr },
}

/// A message and the media line of its SDP that the call's audio uses.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sdp<'a> {
    pub msg: &'a Message,
    pub media: &'a SdpMedia,
}

impl Sdp<'_> {
    /// Where this side wants to receive RTP (`None` for a hold address `0.0.0.0`, a port 0 or an FQDN).
    pub fn endpoint(&self) -> Option<SocketAddr> {
        let addr = self.media.addr?;
        (!addr.is_unspecified() && self.media.port != 0)
            .then(|| SocketAddr::new(addr, self.media.port))
    }

    /// The payload types it lists.
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.media.codecs.iter().map(|c| c.pt)
    }

    /// `PCMU/8000, PCMA/8000` (or the bare numbers when no name is known).
    pub fn codec_list(&self) -> String {
        self.media
            .codecs
            .iter()
            .map(|c| match (c.name.is_empty(), c.clock_rate) {
                (true, _) => format!("PT {}", c.pt),
                (false, 0) => c.name.to_string(),
                (false, rate) => format!("{}/{rate}", c.name),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// How long after the response that completes a call's start or end its normal after-effects still
/// arrive: RTP already in flight or sent by a media relay that stops behind the signalling, ICMP for a
/// media port the other side has closed, retransmissions crossing the final response.
pub(crate) const ENDING_GRACE_NS: i64 = 2_000_000_000;

/// How long after the final response to the INVITE a media port may still be closed: the time for
/// the response to reach its side and for that side to open the port, plus the ICMP's way back. Short,
/// so that media refused throughout a call is not taken for early media.
pub(crate) const ANSWER_GRACE_NS: i64 = 500_000_000;

/// A stretch of capture time, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub from: i64,
    pub to: i64,
}

impl Span {
    /// Whether `from..=to` lies within this span.
    pub fn holds(&self, from: i64, to: i64) -> bool {
        from >= self.from && to <= self.to
    }
}

/// A call's teardown: from the message that ended it to [`ENDING_GRACE_NS`] after the final response
/// that completed the ending. An answered call ends with its first BYE, completed by a 2xx to a BYE; a
/// cancelled one with its CANCEL, completed by the INVITE's final response (the 487); a rejected one
/// with its final error response, which completes it at once. Without that final response the end was
/// not normal and there is no teardown.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Teardown<'a> {
    /// The BYE, CANCEL or final error response.
    pub start: &'a Message,
    /// The final response that completed the ending.
    pub done: &'a Message,
    pub span: Span,
}

impl<'a> Teardown<'a> {
    fn of(
        call: &'a Call,
        final_msg: Option<&'a Message>,
        bye: Option<&'a Message>,
    ) -> Option<Self> {
        let msgs = || call.messages.iter().map(|s| &*s.msg);
        let (start, done) = match call.state {
            // A call caught mid-call was up when the capture started: its BYE ends it too.
            State::Answered | State::MidCall => {
                let bye = bye?;
                let done = msgs().find(|m| {
                    m.ts_ns >= bye.ts_ns
                        && m.is_final_response_to(&Method::Bye)
                        && m.status().is_some_and(StatusCode::is_success)
                })?;
                (bye, done)
            }
            State::Cancelled => {
                let cancel = msgs().find(|m| m.method() == Some(&Method::Cancel))?;
                (cancel, final_msg.filter(|f| f.ts_ns >= cancel.ts_ns)?)
            }
            State::Rejected => (final_msg?, final_msg?),
            State::Unanswered | State::InProgress => return None,
        };
        Some(Teardown {
            start,
            done,
            span: Span {
                from: start.ts_ns,
                to: done.ts_ns.saturating_add(ENDING_GRACE_NS),
            },
        })
    }
}

/// Which way a stream went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// From the callee's side to the caller's (the answer's side sends to the offer's address).
    ToCaller,
    /// From the caller's side to the callee's.
    ToCallee,
    Unknown,
}

/// The facts about one call that the rules share.
#[derive(Clone, Debug)]
pub(crate) struct CallFacts<'a> {
    /// 0-based index in the call list.
    pub index: usize,
    pub call: &'a Call,
    pub invite: &'a Message,
    /// The first SDP offer (in an initial INVITE) and answer (in a 18x/2xx to it).
    pub offer: Option<Sdp<'a>>,
    pub answer: Option<Sdp<'a>>,
    /// The 2xx that answered the call.
    pub answer_msg: Option<&'a Message>,
    /// The final response that decided the outcome.
    pub final_msg: Option<&'a Message>,
    /// The first ACK after the 2xx.
    pub ack: Option<&'a Message>,
    /// The first BYE.
    pub bye: Option<&'a Message>,
    /// RTP streams linked to the call, by first frame.
    pub streams: Vec<&'a Stream>,
    /// STUN checks linked to the call.
    pub stun: Vec<&'a StunCheck>,
    /// A re-INVITE or UPDATE after the answer put the media on hold (sendonly, recvonly, inactive,
    /// `0.0.0.0`, port 0): time of the first such SDP.
    pub hold_ts_ns: Option<i64>,
    /// The call's SDP listed ICE candidates.
    pub ice: bool,
    /// RTP streams that touch an endpoint any SDP of this call announced while the call was up,
    /// whichever call they were linked to (B2BUA legs and re-INVITEs that move the media share them),
    /// plus the linked ones: what the media verdicts (none, one-way) look at.
    pub media: Vec<&'a Stream>,
    /// An SDP of the call negotiated media that is not RTP (T.38 over UDPTL, MSRP, ...): the RTP
    /// verdicts do not apply.
    pub non_rtp_media: bool,
    /// Whether this capture point can see the call's media (see [`MediaView`]).
    pub media_view: MediaView,
    /// The call's fax streams (UDPTL), by first frame.
    pub fax: Vec<&'a Fax>,
    /// DNS lookups made by hosts while they held its INVITE, by first frame (positions as in the evidence).
    pub dns: Vec<&'a Lookup>,
    /// From the first INVITE to [`ANSWER_GRACE_NS`] after its final response (none without one): a
    /// media port may not be open before the answer reaches its side, so early media can be refused.
    pub setup: Option<Span>,
    pub teardown: Option<Teardown<'a>>,
}

/// The media line the call's audio uses: the first audio line, else the first line with a port.
fn audio(media: &[SdpMedia]) -> Option<&SdpMedia> {
    media
        .iter()
        .find(|m| m.kind.eq_ignore_ascii_case("audio"))
        .or_else(|| media.iter().find(|m| m.port != 0))
        .or_else(|| media.first())
}

fn is_hold(m: &SdpMedia) -> bool {
    m.direction != sdp::Direction::SendRecv
        || m.port == 0
        || m.addr.is_some_and(|a| a.is_unspecified())
}

impl<'a> CallFacts<'a> {
    /// The facts of call `index`; `streams` and `stun` are the ones linked to it (those that started
    /// during its teardown are left out: RTP still arriving as a call ends is not its media).
    pub fn new(
        index: usize,
        call: &'a Call,
        mut streams: Vec<&'a Stream>,
        stun: Vec<&'a StunCheck>,
    ) -> Self {
        let msgs = || call.messages.iter().map(|s| &*s.msg);
        let invite = call.invite();
        let initial_invite =
            |m: &Message| m.method() == Some(&Method::Invite) && m.to_tag.is_none();
        let answers_invite = |m: &Message| {
            m.status()
                .is_some_and(|s| s.is_success() || (180..200).contains(&s.0))
                && m.cseq_method() == Some(&Method::Invite)
        };
        let with_sdp = |m: &'a Message| {
            m.sdp
                .as_deref()
                .and_then(audio)
                .map(|media| Sdp { msg: m, media })
        };
        let offer = msgs().filter(|m| initial_invite(m)).find_map(with_sdp);
        let answer = msgs().filter(|m| answers_invite(m)).find_map(with_sdp);
        let final_msg = call
            .final_response
            .as_ref()
            .and_then(|r| msgs().find(|m| m.frame == r.frame));
        let answer_msg = final_msg.filter(|_| call.state == State::Answered);
        let ack = answer_msg
            .and_then(|a| msgs().find(|m| m.method() == Some(&Method::Ack) && m.ts_ns >= a.ts_ns));
        let bye = msgs().find(|m| m.method() == Some(&Method::Bye));
        let ice = msgs()
            .filter_map(|m| m.sdp.as_deref())
            .flatten()
            .any(|m| !m.candidates.is_empty());
        let teardown = Teardown::of(call, final_msg, bye);
        streams.retain(|s| teardown.is_none_or(|t| s.first_ts_ns < t.span.from));
        streams.sort_by_key(|s| s.first_frame);
        let setup = final_msg.map(|f| Span {
            from: invite.ts_ns,
            to: f.ts_ns.saturating_add(ANSWER_GRACE_NS),
        });
        let mut facts = CallFacts {
            index,
            call,
            invite,
            offer,
            answer,
            answer_msg,
            final_msg,
            ack,
            bye,
            streams,
            stun,
            hold_ts_ns: None,
            ice,
            media: Vec::new(),
            // T.38: an SDP whose only active media is not RTP (the audio line gone or at port 0).
            non_rtp_media: msgs().filter_map(|m| m.sdp.as_deref()).any(|media| {
                let active = || media.iter().filter(|m| m.port != 0);
                active().all(|m| !m.proto.to_ascii_uppercase().contains("RTP"))
                    && active().next().is_some()
            }),
            media_view: MediaView::Visible,
            fax: Vec::new(),
            dns: Vec::new(),
            setup,
            teardown,
        };
        let hold = facts
            .session_requests()
            .find(|m| m.sdp.as_deref().and_then(audio).is_some_and(is_hold))
            .map(|m| m.ts_ns);
        facts.hold_ts_ns = hold;
        facts
    }

    /// Some message of the call was captured only in part (its datagram's later IP fragments are
    /// missing, [`Message::lost_fragments`]): an SDP body there is unknown, not absent.
    pub fn sdp_lost(&self) -> bool {
        self.call
            .messages
            .iter()
            .any(|s| s.msg.lost_fragments && s.msg.sdp.is_none())
    }

    /// The capture started after the call was set up (no INVITE, no SDP: see [`State::MidCall`]).
    pub fn mid_call(&self) -> bool {
        self.call.state == State::MidCall
    }

    /// Since when the call was up: its answer, or for a call caught mid-call what the capture saw
    /// of it first (its first message or its first RTP).
    pub fn up_since(&self) -> Option<i64> {
        match self.answer_msg {
            Some(a) => Some(a.ts_ns),
            None if self.mid_call() => Some(
                self.media
                    .iter()
                    .map(|s| s.first_ts_ns)
                    .chain([self.call.start_ts_ns])
                    .min()
                    .unwrap_or(self.call.start_ts_ns),
            ),
            None => None,
        }
    }

    /// Added to a media finding of a call caught mid-call: how its media was judged.
    pub fn mid_call_note(&self) -> String {
        if !self.mid_call() {
            return String::new();
        }
        format!(
            " (the capture started mid-call, without its INVITE and SDP: its media is the RTP between {} and {}, the hosts of its first message, a {} from {} — \"caller\" and \"callee\" name them in that order)",
            self.call.caller.ip(),
            self.call.callee.ip(),
            self.invite.label(),
            self.call.caller.ip()
        )
    }

    /// Which way a stream went, judged by the SDP endpoints (then by source address); for a call
    /// caught mid-call, by the hosts of its first message.
    pub fn direction(&self, s: &Stream) -> Direction {
        if self.mid_call() && self.offer.is_none() && self.answer.is_none() {
            return if s.src.ip() == self.call.caller.ip() {
                Direction::ToCallee
            } else if s.src.ip() == self.call.callee.ip() {
                Direction::ToCaller
            } else {
                Direction::Unknown
            };
        }
        let offer = self.offer.and_then(|o| o.endpoint());
        let answer = self.answer.and_then(|a| a.endpoint());
        if offer == Some(s.dst) || answer == Some(s.src) {
            Direction::ToCaller
        } else if answer == Some(s.dst) || offer == Some(s.src) {
            Direction::ToCallee
        } else if offer.is_some_and(|o| o.ip() == s.dst.ip())
            || answer.is_some_and(|a| a.ip() == s.src.ip())
        {
            Direction::ToCaller
        } else if answer.is_some_and(|a| a.ip() == s.dst.ip())
            || offer.is_some_and(|o| o.ip() == s.src.ip())
        {
            Direction::ToCallee
        } else {
            Direction::Unknown
        }
    }

    /// Offer and answer both negotiated active media (a port, an address, not a hold).
    pub fn media_negotiated(&self) -> bool {
        if self.non_rtp_media {
            return false;
        }
        match (self.offer, self.answer) {
            (Some(o), Some(a)) => {
                o.endpoint().is_some()
                    && a.endpoint().is_some()
                    && !is_hold(o.media)
                    && !is_hold(a.media)
            }
            _ => false,
        }
    }

    /// When the answered call ended: the BYE, else the call's last message.
    pub fn end_ts_ns(&self) -> i64 {
        self.bye.map_or(self.call.end_ts_ns, |b| b.ts_ns)
    }

    /// What the caller heard first: the first 18x or 2xx to the INVITE sent to the caller (what the
    /// call's post-dial delay measures), else the first one any hop sent.
    pub fn first_progress(&self) -> Option<&'a Message> {
        let progress = |m: &&Message| {
            m.cseq_method() == Some(&Method::Invite)
                && m.status()
                    .is_some_and(|s| s.is_success() || (180..200).contains(&s.0))
        };
        let msgs = || self.call.messages.iter().map(|s| &*s.msg);
        msgs()
            .filter(progress)
            .find(|m| m.dst == self.call.caller)
            .or_else(|| msgs().find(progress))
    }

    /// The requests that change or end the session once it is up: re-INVITEs, UPDATEs and BYEs
    /// after the answer (not the initial INVITE's retransmissions), in capture order.
    fn session_requests(&self) -> impl Iterator<Item = &'a Message> + '_ {
        let answered = self.answer_msg.map(|a| a.ts_ns);
        let invite_cseq = self.invite.cseq_seq();
        self.call
            .messages
            .iter()
            .map(|s| &*s.msg)
            .filter(move |m| answered.is_some_and(|a| m.ts_ns >= a))
            .filter(move |m| match m.method() {
                Some(Method::Bye) => true,
                Some(Method::Invite) => m.cseq_seq() != invite_cseq || m.to_tag.is_some(),
                Some(Method::Other(name)) => name.eq_ignore_ascii_case("UPDATE"),
                _ => false,
            })
    }

    /// The first re-INVITE, UPDATE or BYE at or after `ts_ns` less [`SIGNALLED_SLACK_NS`] (media may
    /// stop just before the request that stopped it reaches the capture point).
    pub fn next_session_request(&self, ts_ns: i64) -> Option<&'a Message> {
        self.session_request_from(ts_ns.saturating_sub(SIGNALLED_SLACK_NS))
    }

    /// The first re-INVITE, UPDATE or BYE at or after `ts_ns`.
    pub fn session_request_from(&self, ts_ns: i64) -> Option<&'a Message> {
        self.session_requests().find(|m| m.ts_ns >= ts_ns)
    }

    /// The session was on hold at `ts_ns`: the latest re-INVITE or UPDATE with SDP before it (within
    /// [`SIGNALLED_SLACK_NS`] after it) put the media on hold.
    pub fn held_at(&self, ts_ns: i64) -> bool {
        let until = ts_ns.saturating_add(SIGNALLED_SLACK_NS);
        self.session_requests()
            .filter(|m| m.ts_ns <= until)
            .filter_map(|m| m.sdp.as_deref().and_then(audio))
            .last()
            .is_some_and(is_hold)
    }

    /// The stream of direction `d` whose last packet came last, with the packets of all the
    /// direction's streams (a re-INVITE may have moved the media to a new stream).
    pub fn last_stream(&self, d: Direction) -> Option<(&'a Stream, u64)> {
        let streams = || {
            self.media
                .iter()
                .copied()
                .filter(|s| self.direction(s) == d)
        };
        let last = streams().max_by_key(|s| (s.last_ts_ns, s.last_frame))?;
        Some((last, streams().map(|s| s.summary.packets).sum()))
    }
}

/// How far around a media change the signalling that explains it may be: a stop up to this long
/// before a re-INVITE/UPDATE/BYE reached the capture point, or a hold this long after the stop.
pub(crate) const SIGNALLED_SLACK_NS: i64 = 2_000_000_000;

impl<'a> CallFacts<'a> {
    /// The facts of a finished call, from the evidence the engine gathered for it.
    pub fn of(fc: &'a FinishedCall) -> CallFacts<'a> {
        let own: Vec<&Stream> = fc
            .evidence
            .streams
            .iter()
            .filter(|s| s.call == Some(fc.index))
            .collect();
        let stun: Vec<&StunCheck> = fc
            .evidence
            .stun
            .iter()
            .filter(|c| c.call == Some(fc.index))
            .collect();
        let mut f = CallFacts::new(fc.index, &fc.call, own, stun);
        let from = f.answer_msg.map_or(fc.call.start_ts_ns, |a| a.ts_ns);
        let to = f.end_ts_ns();
        // Streams on the call's SDP endpoints while it was up, whichever call owns them (B2BUA
        // legs and re-INVITEs that move the media share them), plus its own.
        let mut media: Vec<&Stream> = f.streams.clone();
        media.extend(
            fc.evidence
                .streams
                .iter()
                .filter(|s| s.first_ts_ns <= to && s.last_ts_ns >= from),
        );
        media.sort_by_key(|s| (s.first_frame, s.src, s.dst, s.ssrc));
        media.dedup_by_key(|s| (s.first_frame, s.src, s.dst, s.ssrc));
        f.media = media;
        f.fax = fc.evidence.fax.iter().collect();
        f.dns = fc.evidence.dns.iter().collect();
        f.media_view = f.view(fc);
        f
    }

    /// What the capture point could see of the call's media, from what had been seen so far when
    /// the call was finalized.
    fn view(&self, fc: &FinishedCall) -> MediaView {
        let ev = &fc.evidence;
        if !self.media.is_empty() || !ev.stun.is_empty() || !ev.fax.is_empty() {
            return MediaView::Visible;
        }
        let endpoints: Vec<IpAddr> = [self.offer, self.answer]
            .into_iter()
            .flatten()
            .filter_map(|s| s.endpoint())
            .map(|e| e.ip())
            .collect();
        match fc.capture.capture_host {
            Some(at) if !endpoints.is_empty() && !endpoints.contains(&at) => {
                MediaView::OffPath { at }
            }
            _ if !fc.capture.rtp_seen => MediaView::NoRtp,
            _ => MediaView::Visible,
        }
    }

    /// When the capture point cannot see the call's media: a note for the summary of a media
    /// finding (it says what could not be judged) and the advice on where to capture instead.
    pub fn media_unseen(&self) -> Option<(String, String)> {
        let (caller_ep, callee_ep) = self.media_endpoints();
        let ip = |ep: &str| {
            ep.rsplit_once(':')
                .map_or(ep, |(ip, _)| ip)
                .trim_matches(|c| c == '[' || c == ']')
                .to_string()
        };
        let (a, b) = (ip(&caller_ep), ip(&callee_ep));
        match self.media_view {
            MediaView::Visible => None,
            MediaView::NoRtp => Some((
                "; but this capture holds no RTP of any call (filtered to signalling only, or taken off every media path), so it cannot tell".to_string(),
                format!("capture again with the media (no `port 5060` filter), next to {a} or {b}, to judge the audio"),
            )),
            MediaView::OffPath { at } => Some((
                format!("; but every packet of this capture is from or to {at} (it was taken there), and the media between {caller_ep} and {callee_ep} does not pass {at}, so it cannot tell"),
                format!("capture at {a} or {b} (or on a mirror of their link) to see the media; {at} only relays the signalling"),
            )),
        }
    }
}

/// Ascending, without repeats.
pub(crate) fn sorted(mut frames: Vec<u64>) -> Vec<u64> {
    frames.sort_unstable();
    frames.dedup();
    frames
}

/// What RTP an answered call had, by direction.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum MediaSeen<'a> {
    /// No RTP at all.
    None,
    /// RTP one way only; `missing` is the direction with none.
    OneWay {
        missing: Direction,
        present: Vec<&'a Stream>,
    },
    /// Both ways (or streams whose direction is unknown).
    Flowing,
}

/// `192.0.2.10:6000 → 192.0.2.31:20000 (196 packets, frames 8–203)`, joined by `; `.
pub(crate) fn describe_streams(streams: &[&Stream]) -> String {
    streams
        .iter()
        .map(|s| {
            format!(
                "{} → {} ({} packets, {})",
                s.src,
                s.dst,
                s.summary.packets,
                frame_range(s.first_frame, s.last_frame)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl<'a> CallFacts<'a> {
    /// The media the call had, by direction.
    pub fn media_seen(&self) -> MediaSeen<'a> {
        if self.media.is_empty() {
            return MediaSeen::None;
        }
        let toward = |d: Direction| -> Vec<&'a Stream> {
            self.media
                .iter()
                .copied()
                .filter(|s| self.direction(s) == d)
                .collect()
        };
        let to_caller = toward(Direction::ToCaller);
        let to_callee = toward(Direction::ToCallee);
        let unknown = toward(Direction::Unknown);
        match (
            to_caller.is_empty(),
            to_callee.is_empty(),
            unknown.is_empty(),
        ) {
            (true, false, true) => MediaSeen::OneWay {
                missing: Direction::ToCaller,
                present: to_callee,
            },
            (false, true, true) => MediaSeen::OneWay {
                missing: Direction::ToCallee,
                present: to_caller,
            },
            _ => MediaSeen::Flowing,
        }
    }

    /// The caller's and the callee's media endpoints as the SDP announced them (`?` if unknown; for
    /// a call caught mid-call without SDP, the sources of its streams or its hosts).
    pub fn media_endpoints(&self) -> (String, String) {
        let show = |s: Option<Sdp<'_>>, d: Direction, host: SocketAddr| {
            s.and_then(|s| s.endpoint())
                .map(|e| e.to_string())
                .or_else(|| {
                    self.mid_call().then(|| {
                        self.media
                            .iter()
                            .find(|m| self.direction(m) == d)
                            .map_or_else(|| host.ip().to_string(), |m| m.src.to_string())
                    })
                })
                .unwrap_or_else(|| "?".to_string())
        };
        (
            show(self.offer, Direction::ToCallee, self.call.caller),
            show(self.answer, Direction::ToCaller, self.call.callee),
        )
    }

    /// Which side is silent when `missing` has no RTP, in words, and what to check.
    pub fn silent_side_cause(&self, missing: Direction) -> String {
        let (caller_ep, callee_ep) = self.media_endpoints();
        let (silent, silent_ep, listener, listener_ep) = match missing {
            Direction::ToCaller => ("callee", callee_ep, "caller", caller_ep),
            _ => ("caller", caller_ep, "callee", callee_ep),
        };
        let silent_ip = silent_ep
            .rsplit_once(':')
            .map_or(silent_ep.as_str(), |(ip, _)| ip)
            .to_string();
        let listener_ip = listener_ep
            .rsplit_once(':')
            .map_or(listener_ep.as_str(), |(ip, _)| ip)
            .to_string();
        format!(
            "the {silent}'s RTP (from {silent_ep}) never reached this capture point: most likely {silent_ip}'s outbound UDP is blocked (host firewall on {silent_ip} or a firewall in front of it) or the {silent} sends to an address other than {listener_ep} (NAT: is the address in the {listener}'s SDP reachable from {silent_ip}?); if this capture was taken next to {listener_ip}, check {listener_ip}'s inbound UDP {} instead",
            listener_ep.rsplit_once(':').map_or("", |(_, p)| p)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::rules::testkit::*;

    fn teardown(msgs: Vec<Message>) -> Option<(u64, u64, i64, i64)> {
        let b = World::new(msgs).build();
        let f = b.facts(0);
        f.teardown
            .map(|t| (t.start.frame, t.done.frame, t.span.from, t.span.to))
    }

    #[test]
    fn the_teardown_runs_from_what_ended_the_call_to_the_grace_after_its_completion() {
        let grace = ENDING_GRACE_NS / 1_000_000;
        assert_eq!(
            teardown(answered(Some(4000.0))),
            Some((9000, 9001, ns(4000.0), ns(4001.0 + grace as f64)))
        );
        // A BYE with no 2xx: the end was not normal.
        let mut m = answered(None);
        m.push(req(9000, 4000.0, CALLER, APP, Method::Bye, 2));
        assert_eq!(teardown(m), None);
        let rejected = vec![
            req(1, 0.0, CALLER, APP, Method::Invite, 1).sdp(CALLER_RTP),
            resp(2, 5.0, APP, CALLER, 486, Method::Invite, 1),
            req(3, 6.0, CALLER, APP, Method::Ack, 1),
        ];
        assert_eq!(teardown(rejected).map(|t| (t.0, t.1)), Some((2, 2)));
        let cancelled = vec![
            req(1, 0.0, CALLER, APP, Method::Invite, 1).sdp(CALLER_RTP),
            resp(2, 5.0, APP, CALLER, 180, Method::Invite, 1),
            req(3, 900.0, CALLER, APP, Method::Cancel, 1),
            resp(4, 901.0, APP, CALLER, 200, Method::Cancel, 1),
            resp(5, 902.0, APP, CALLER, 487, Method::Invite, 1),
            req(6, 903.0, CALLER, APP, Method::Ack, 1),
        ];
        assert_eq!(teardown(cancelled).map(|t| (t.0, t.1)), Some((3, 5)));
        let unanswered = vec![req(1, 0.0, CALLER, APP, Method::Invite, 1).sdp(CALLER_RTP)];
        assert_eq!(teardown(unanswered), None);
    }

    #[test]
    fn rtp_that_starts_in_the_teardown_is_not_the_calls_media() {
        // A relay's stream from another port, in a codec the SDP never listed, starting after the
        // BYE: no unexpected address, no codec mismatch.
        let b = World::new(answered(Some(4000.0)))
            .rtp(100, 810.0, CALLER_RTP, APP_RTP, 150)
            .rtp(300, 815.0, APP_RTP, CALLER_RTP, 150)
            .rtp_lossy(600, 4010.0, "192.0.2.31:20002", CALLER_RTP, 60, 8, &[])
            .build();
        assert_eq!(b.facts(0).streams.len(), 2);
        assert!(
            b.diagnose().calls[0].is_empty(),
            "{:#?}",
            b.diagnose().calls[0]
        );
    }

    #[test]
    fn a_bye_retransmitted_and_answered_late_is_no_fault() {
        let mut m = answered(None);
        m.push(req(9000, 4000.0, CALLER, APP, Method::Bye, 2));
        m.push(req(9002, 4500.0, CALLER, APP, Method::Bye, 2));
        m.push(req(9003, 5500.0, CALLER, APP, Method::Bye, 2));
        m.push(resp(9004, 5600.0, APP, CALLER, 200, Method::Bye, 2));
        let b = World::new(m)
            .rtp(100, 810.0, CALLER_RTP, APP_RTP, 150)
            .rtp(300, 815.0, APP_RTP, CALLER_RTP, 150)
            .build();
        assert_eq!(b.facts(0).teardown.map(|t| t.done.frame), Some(9004));
        assert!(
            b.diagnose().calls[0].is_empty(),
            "{:#?}",
            b.diagnose().calls[0]
        );
    }
}
