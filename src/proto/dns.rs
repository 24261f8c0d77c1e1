//! DNS messages (RFC 1035), over UDP or over TCP with the 2-byte length prefix (RFC 1035 §4.2.2, RFC 7766).
//!
//! Takes in: one UDP payload, or the payload of one TCP segment holding length-prefixed messages, as untrusted
//! bytes.
//! Produces: [`Message`], owned: the header (id, query or response, opcode, truncation, [`Rcode`]), the questions,
//! and the answer and additional records with the data SIP resolution uses typed ([`Data`]: A, AAAA, CNAME, SRV,
//! NAPTR; other types kept by number only); [`looks_like_dns`] for classification; [`tcp_messages`] for TCP.
//! Does not: follow queries to responses (that is `correlate::dns`), keep the authority section's records
//! (it is walked only to reach the additional section), check DNSSEC, or read EDNS options.
//!
//! Names are decompressed (RFC 1035 §4.1.4) with two bounds that make loops impossible: a compression pointer
//! must point before the label that holds it, and a name is at most 255 bytes. They come out in lower case
//! (names compare case-insensitively, RFC 4343), dot-separated without the final dot, bytes other than
//! printable ASCII as `\DDD` (as dig writes them). At most [`MAX_RECORDS`] records per section are kept;
//! what a message declares beyond that is skipped. No panic on any input.

use core::net::{Ipv4Addr, Ipv6Addr};
use thiserror::Error;

use super::bytes::Reader;

/// Records kept per section (questions, answers, additional).
pub const MAX_RECORDS: usize = 64;
/// The longest name on the wire (RFC 1035 §2.3.4), in bytes with the length octets.
const MAX_NAME: usize = 255;
/// The DNS header's length.
const HEADER: usize = 12;

/// Why bytes are not a DNS message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Error {
    #[error("dns message truncated in the {0}")]
    Truncated(&'static str),
    /// A name longer than 255 bytes, a compression pointer that does not point back, or a label type
    /// RFC 6891 retired.
    #[error("dns name malformed at offset {0}")]
    BadName(usize),
}

/// The response code (RFC 1035 §4.1.1, RFC 6895 §2.3; the 4 bits of the header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rcode {
    NoError,
    FormErr,
    ServFail,
    NxDomain,
    NotImp,
    Refused,
    Other(u8),
}

impl Rcode {
    pub fn from_u8(v: u8) -> Rcode {
        match v {
            0 => Rcode::NoError,
            1 => Rcode::FormErr,
            2 => Rcode::ServFail,
            3 => Rcode::NxDomain,
            4 => Rcode::NotImp,
            5 => Rcode::Refused,
            n => Rcode::Other(n),
        }
    }

    pub fn code(self) -> u8 {
        match self {
            Rcode::NoError => 0,
            Rcode::FormErr => 1,
            Rcode::ServFail => 2,
            Rcode::NxDomain => 3,
            Rcode::NotImp => 4,
            Rcode::Refused => 5,
            Rcode::Other(n) => n,
        }
    }

    /// Its mnemonic (RFC 6895), `RCODE<n>` for the others.
    pub fn name(self) -> String {
        match self {
            Rcode::NoError => "NOERROR".into(),
            Rcode::FormErr => "FORMERR".into(),
            Rcode::ServFail => "SERVFAIL".into(),
            Rcode::NxDomain => "NXDOMAIN".into(),
            Rcode::NotImp => "NOTIMP".into(),
            Rcode::Refused => "REFUSED".into(),
            Rcode::Other(n) => format!("RCODE{n}"),
        }
    }
}

/// A record or query type (RFC 1035 §3.2.2, RFC 3596, RFC 2782, RFC 3403), the ones SIP resolution uses by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Type {
    A,
    Cname,
    Aaaa,
    Srv,
    Naptr,
    Other(u16),
}

impl Type {
    pub fn from_u16(v: u16) -> Type {
        match v {
            1 => Type::A,
            5 => Type::Cname,
            28 => Type::Aaaa,
            33 => Type::Srv,
            35 => Type::Naptr,
            n => Type::Other(n),
        }
    }

    pub fn code(self) -> u16 {
        match self {
            Type::A => 1,
            Type::Cname => 5,
            Type::Aaaa => 28,
            Type::Srv => 33,
            Type::Naptr => 35,
            Type::Other(n) => n,
        }
    }

    /// Its mnemonic, `TYPE<n>` (RFC 3597) for the others.
    pub fn name(self) -> String {
        match self {
            Type::A => "A".into(),
            Type::Cname => "CNAME".into(),
            Type::Aaaa => "AAAA".into(),
            Type::Srv => "SRV".into(),
            Type::Naptr => "NAPTR".into(),
            Type::Other(n) => format!("TYPE{n}"),
        }
    }
}

/// One question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub name: String,
    pub qtype: Type,
    pub class: u16,
}

/// The data of a record, typed for the types SIP resolution follows (RFC 3263).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(String),
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
    },
    Naptr {
        order: u16,
        preference: u16,
        flags: String,
        service: String,
        replacement: String,
    },
    /// Another type, or data of a known type that does not parse (its length is kept).
    Other(u16),
}

/// One resource record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub rtype: Type,
    pub ttl: u32,
    pub data: Data,
}

/// A DNS message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: u16,
    /// QR: a response, not a query.
    pub response: bool,
    pub opcode: u8,
    /// TC: the response did not fit (the client should ask again over TCP).
    pub truncated: bool,
    pub rcode: Rcode,
    pub questions: Vec<Question>,
    pub answers: Vec<Record>,
    pub additional: Vec<Record>,
}

impl Message {
    /// Parses one message. The questions must parse; a record section that runs short ends the message
    /// there (what parsed is kept), since a truncated response still says its rcode.
    pub fn parse(buf: &[u8]) -> Result<Message, Error> {
        let mut r = Reader::new(buf);
        let (Some(id), Some(flags)) = (r.be16(), r.be16()) else {
            return Err(Error::Truncated("header"));
        };
        let mut counts = [0u16; 4];
        for c in &mut counts {
            *c = r.be16().ok_or(Error::Truncated("header"))?;
        }
        let mut m = Message {
            id,
            response: flags & 0x8000 != 0,
            opcode: ((flags >> 11) & 0xf) as u8,
            truncated: flags & 0x0200 != 0,
            rcode: Rcode::from_u8((flags & 0xf) as u8),
            questions: Vec::new(),
            answers: Vec::new(),
            additional: Vec::new(),
        };
        let mut at = HEADER;
        for _ in 0..counts[0] {
            let (name, end) = name(buf, at)?;
            let mut f = Reader::new(buf.get(end..).unwrap_or_default());
            let (Some(qtype), Some(class)) = (f.be16(), f.be16()) else {
                return Err(Error::Truncated("question"));
            };
            at = end + 4;
            if m.questions.len() < MAX_RECORDS {
                m.questions.push(Question {
                    name,
                    qtype: Type::from_u16(qtype),
                    class,
                });
            }
        }
        for (section, &count) in counts[1..].iter().enumerate() {
            for _ in 0..count {
                let Ok((record, end)) = record(buf, at) else {
                    return Ok(m);
                };
                at = end;
                let list = match section {
                    0 => &mut m.answers,
                    1 => continue,
                    _ => &mut m.additional,
                };
                if list.len() < MAX_RECORDS {
                    list.push(record);
                }
            }
        }
        Ok(m)
    }
}

/// Whether a payload looks like a DNS message worth parsing: a standard query or its response (opcode 0)
/// with exactly one question, as every resolver sends (RFC 9619), and a header that fits.
pub fn looks_like_dns(buf: &[u8]) -> bool {
    let mut r = Reader::new(buf);
    let (Some(_), Some(flags), Some(qd)) = (r.be16(), r.be16(), r.be16()) else {
        return false;
    };
    buf.len() >= HEADER + 5 && (flags >> 11) & 0xf == 0 && flags & 0x0040 == 0 && qd == 1
}

/// The messages of one TCP segment's payload: each after its 2-byte length; a message the segment does not
/// hold whole ends the walk (what follows is not read).
pub fn tcp_messages(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut r = Reader::new(buf);
    std::iter::from_fn(move || r.vec16())
}

/// A record starting at `at`, with where the next one starts.
fn record(buf: &[u8], at: usize) -> Result<(Record, usize), Error> {
    let (owner, end) = name(buf, at)?;
    let mut r = Reader::new(buf.get(end..).unwrap_or_default());
    let (Some(rtype), Some(_class), Some(ttl_hi), Some(ttl_lo), Some(rdata)) =
        (r.be16(), r.be16(), r.be16(), r.be16(), r.vec16())
    else {
        return Err(Error::Truncated("record"));
    };
    let start = end + 10;
    let rtype = Type::from_u16(rtype);
    let data = rdata_of(buf, start, rdata, rtype).unwrap_or(Data::Other(rdata.len() as u16));
    Ok((
        Record {
            name: owner,
            rtype,
            ttl: (u32::from(ttl_hi) << 16) | u32::from(ttl_lo),
            data,
        },
        start + rdata.len(),
    ))
}

/// The typed data of a record whose data is `rdata`, at `start` in `buf` (names in it may be compressed).
fn rdata_of(buf: &[u8], start: usize, rdata: &[u8], rtype: Type) -> Option<Data> {
    let mut r = Reader::new(rdata);
    Some(match rtype {
        Type::A => Data::A(Ipv4Addr::from(<[u8; 4]>::try_from(rdata).ok()?)),
        Type::Aaaa => Data::Aaaa(Ipv6Addr::from(<[u8; 16]>::try_from(rdata).ok()?)),
        Type::Cname => Data::Cname(name(buf, start).ok()?.0),
        Type::Srv => Data::Srv {
            priority: r.be16()?,
            weight: r.be16()?,
            port: r.be16()?,
            target: name(buf, start + 6).ok()?.0,
        },
        Type::Naptr => {
            let (order, preference) = (r.be16()?, r.be16()?);
            let flags = text(r.vec8()?);
            let service = text(r.vec8()?);
            let _regexp = r.vec8()?;
            let replacement = name(buf, start + (rdata.len() - r.rest().len())).ok()?.0;
            Data::Naptr {
                order,
                preference,
                flags,
                service,
                replacement,
            }
        }
        Type::Other(_) => return None,
    })
}

/// A character string as text: printable ASCII as is, other bytes as `\DDD`.
fn text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        push_byte(&mut out, b);
    }
    out
}

fn push_byte(out: &mut String, b: u8) {
    match b {
        b'.' | b'\\' => {
            out.push('\\');
            out.push(char::from(b));
        }
        b'!'..=b'~' => out.push(char::from(b.to_ascii_lowercase())),
        _ => out.push_str(&format!("\\{b:03}")),
    }
}

/// The name at `at`, decompressed, with the offset just past it where it starts (after its pointer, if it
/// ends in one).
fn name(buf: &[u8], at: usize) -> Result<(String, usize), Error> {
    let mut out = String::new();
    let (mut pos, mut end, mut wire) = (at, None, 0usize);
    loop {
        let len = *buf.get(pos).ok_or(Error::Truncated("name"))?;
        match len >> 6 {
            0 if len == 0 => {
                return Ok((out, end.unwrap_or(pos + 1)));
            }
            0 => {
                let label = buf
                    .get(pos + 1..pos + 1 + usize::from(len))
                    .ok_or(Error::Truncated("name"))?;
                wire += 1 + label.len();
                if wire + 1 > MAX_NAME {
                    return Err(Error::BadName(pos));
                }
                if !out.is_empty() {
                    out.push('.');
                }
                for &b in label {
                    push_byte(&mut out, b);
                }
                pos += 1 + label.len();
            }
            3 => {
                let low = *buf.get(pos + 1).ok_or(Error::Truncated("name"))?;
                let target = (usize::from(len & 0x3f) << 8) | usize::from(low);
                // Pointing back only (before this pointer) makes a loop impossible.
                if target >= pos {
                    return Err(Error::BadName(pos));
                }
                end.get_or_insert(pos + 2);
                pos = target;
            }
            _ => return Err(Error::BadName(pos)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query for `name` of type `qtype` with id `id`.
    pub(crate) fn query(id: u16, qname: &str, qtype: u16) -> Vec<u8> {
        let mut b = vec![];
        b.extend(id.to_be_bytes());
        b.extend([0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        for label in qname.split('.') {
            b.push(label.len() as u8);
            b.extend(label.as_bytes());
        }
        b.push(0);
        b.extend(qtype.to_be_bytes());
        b.extend([0, 1]);
        b
    }

    /// The response to `q` with `rcode` and the answers (already encoded).
    fn response(q: &[u8], rcode: u8, answers: &[&[u8]]) -> Vec<u8> {
        let mut b = q.to_vec();
        b[2] = 0x81;
        b[3] = 0x80 | rcode;
        b[7] = answers.len() as u8;
        for a in answers {
            b.extend(*a);
        }
        b
    }

    #[test]
    fn parses_a_query() {
        let m = Message::parse(&query(0x411a, "_sip._tcp.App1.lab.example", 33)).unwrap();
        assert_eq!((m.id, m.response, m.rcode), (0x411a, false, Rcode::NoError));
        assert_eq!(m.questions.len(), 1);
        assert_eq!(m.questions[0].name, "_sip._tcp.app1.lab.example");
        assert_eq!((m.questions[0].qtype, m.questions[0].class), (Type::Srv, 1));
        assert!(looks_like_dns(&query(1, "a.b", 1)));
    }

    #[test]
    fn parses_an_srv_answer_with_compressed_target_and_an_a_answer() {
        let q = query(7, "_sip._tcp.app1.lab.example", 33);
        // SRV 0 0 5060 app1.lab.example: owner = pointer to the question (12), target = pointer to "app1" (22).
        let srv: &[u8] = &[
            0xc0, 12, 0, 33, 0, 1, 0, 0, 0, 60, 0, 8, 0, 0, 0, 0, 0x13, 0xc4, 0xc0, 22,
        ];
        let a: &[u8] = &[0xc0, 22, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 31];
        let m = Message::parse(&response(&q, 0, &[srv, a])).unwrap();
        assert!(m.response);
        assert_eq!(
            m.answers[0].data,
            Data::Srv {
                priority: 0,
                weight: 0,
                port: 5060,
                target: "app1.lab.example".into()
            }
        );
        assert_eq!(m.answers[1].name, "app1.lab.example");
        assert_eq!(m.answers[1].data, Data::A(Ipv4Addr::new(192, 0, 2, 31)));
        assert_eq!(m.answers[1].ttl, 60);
    }

    #[test]
    fn rcodes_and_types_round_trip() {
        let q = query(9, "app9.lab.example", 1);
        let m = Message::parse(&response(&q, 3, &[])).unwrap();
        assert_eq!(m.rcode, Rcode::NxDomain);
        assert_eq!(m.rcode.name(), "NXDOMAIN");
        for v in 0..16u8 {
            assert_eq!(Rcode::from_u8(v).code(), v);
        }
        for v in [1u16, 5, 28, 33, 35, 15, 65535] {
            assert_eq!(Type::from_u16(v).code(), v);
        }
        assert_eq!(Type::from_u16(15).name(), "TYPE15");
        assert_eq!(Rcode::from_u8(2).name(), "SERVFAIL");
        assert_eq!(Rcode::from_u8(5).name(), "REFUSED");
    }

    #[test]
    fn pointer_loops_and_forward_pointers_are_rejected() {
        let mut q = query(1, "a", 1);
        // The question's name becomes a pointer to itself.
        q[12] = 0xc0;
        q[13] = 12;
        assert_eq!(Message::parse(&q), Err(Error::BadName(12)));
        q[13] = 40;
        assert_eq!(Message::parse(&q), Err(Error::BadName(12)));
    }

    #[test]
    fn names_longer_than_255_bytes_are_rejected() {
        let long = vec!["a".repeat(63); 4].join(".");
        assert!(matches!(
            Message::parse(&query(1, &long, 1)),
            Err(Error::BadName(_))
        ));
        let fits = vec!["a".repeat(63); 3].join(".");
        assert!(Message::parse(&query(1, &fits, 1)).is_ok());
    }

    #[test]
    fn odd_bytes_in_labels_are_escaped() {
        let mut q = query(1, "ab.c", 1);
        q[13] = 0x07;
        q[14] = b'.';
        assert_eq!(Message::parse(&q).unwrap().questions[0].name, "\\007\\..c");
    }

    #[test]
    fn a_short_record_section_keeps_the_rcode_and_what_parsed() {
        let q = query(3, "x.example", 28);
        let mut r = response(&q, 2, &[&[0xc0, 12, 0, 28]]);
        r[7] = 2;
        let m = Message::parse(&r).unwrap();
        assert_eq!((m.rcode, m.answers.len()), (Rcode::ServFail, 0));
        assert_eq!(Message::parse(&r[..10]), Err(Error::Truncated("header")));
        assert_eq!(Message::parse(&q[..20]), Err(Error::Truncated("name")));
    }

    #[test]
    fn tcp_messages_are_length_prefixed() {
        let q = query(5, "a.example", 1);
        let mut seg = (q.len() as u16).to_be_bytes().to_vec();
        seg.extend(&q);
        seg.extend((q.len() as u16).to_be_bytes());
        seg.extend(&q[..5]);
        let all: Vec<&[u8]> = tcp_messages(&seg).collect();
        assert_eq!(all, vec![&q[..]], "the second message is not whole");
    }

    #[test]
    fn naptr_is_typed() {
        let q = query(4, "lab.example", 35);
        let mut rr = vec![0xc0, 12, 0, 35, 0, 1, 0, 0, 0, 60];
        let mut rdata = vec![0, 10, 0, 20, 1, b's', 7];
        rdata.extend(b"SIP+D2T");
        rdata.push(0);
        rdata.extend([0xc0, 12]);
        rr.extend((rdata.len() as u16).to_be_bytes());
        rr.extend(rdata);
        let m = Message::parse(&response(&q, 0, &[&rr])).unwrap();
        assert_eq!(
            m.answers[0].data,
            Data::Naptr {
                order: 10,
                preference: 20,
                flags: "s".into(),
                service: "sip+d2t".into(),
                replacement: "lab.example".into()
            }
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = looks_like_dns(&buf);
            if let Ok(m) = Message::parse(&buf) {
                proptest::prop_assert!(m.questions.len() <= MAX_RECORDS && m.answers.len() <= MAX_RECORDS);
                for q in &m.questions {
                    proptest::prop_assert!(q.name.len() <= 4 * MAX_NAME);
                }
            }
            for msg in tcp_messages(&buf) {
                let _ = Message::parse(msg);
            }
        }

        #[test]
        fn mutated_responses_never_panic(at in 0usize..64, byte in proptest::num::u8::ANY) {
            let q = query(7, "_sip._tcp.app1.lab.example", 33);
            let srv: &[u8] = &[0xc0, 12, 0, 33, 0, 1, 0, 0, 0, 60, 0, 8, 0, 0, 0, 0, 0x13, 0xc4, 0xc0, 22];
            let mut r = response(&q, 0, &[srv]);
            if let Some(b) = r.get_mut(at) {
                *b = byte;
            }
            let _ = Message::parse(&r);
        }
    }
}
