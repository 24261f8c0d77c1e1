//! No panic on truncation and arbitrary bytes, and parse(render(x)) == x for generated messages.

use proptest::prelude::*;

use super::rfc4475::{wsinv, INTMETH};
use super::*;

// --- no panic on truncation and arbitrary bytes --------------------------------------------------------

fn corpus() -> Vec<Vec<u8>> {
    let mut c = vec![
        wsinv(),
        INTMETH.to_vec(),
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a:1;rport=2;received=1.2.3.4, SIP/2.0/TCP [::1]:5\r\nReason: Q.850;cause=16;text=\"x\"\r\nWarning: 399 h \"t\"\r\nms-diagnostics: 1008.5;reason=\"r\";source=\"s\";A=\"b\"\r\nContent-Type: multipart/mixed;boundary=b\r\nContent-Length: 60\r\n\r\n--b\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n--b--\r\n".to_vec(),
        b"INVITE sip:a@b SIP/2.0\nFrom: \"J\xe9\" <sip:a@b>;tag=1\nTo: x\n folded\nl: 3\n\nabcSIP/2.0 100 Trying\n\n".to_vec(),
    ];
    c.push(msg(
        "INVITE sip:a SIP/2.0\r\nContent-Type: application/sdp\r\nContent-Length: {CL}\r\n\r\n",
        SDP,
    ));
    c
}

#[test]
fn truncated_at_every_prefix_never_panics() {
    for m in corpus() {
        for end in 0..=m.len() {
            exercise(&m[..end]);
            exercise(&m[end..]);
        }
    }
}

#[test]
fn every_head_is_a_prefix_of_the_whole_message() {
    for m in corpus() {
        let whole = parse(&m).ok();
        for end in 0..=m.len() {
            let Ok(h) = parse_head(&m[..end]) else {
                continue;
            };
            assert_eq!(h.truncated, Some(Truncation::Head));
            // Every header field kept is the whole message's field, in the same place.
            if let Some(whole) = &whole {
                assert_eq!(h.start, whole.start);
                assert!(h.headers.len() <= whole.headers.len());
                for (a, b) in h.headers.iter().zip(&whole.headers) {
                    assert_eq!(a, b, "prefix {end}");
                }
            }
        }
    }
}

#[test]
fn framing_every_prefix_is_consistent() {
    let m = msg(
        "INVITE sip:a SIP/2.0\r\nContent-Type: application/sdp\r\nContent-Length: {CL}\r\n\r\n",
        SDP,
    );
    for end in 0..m.len() {
        match frame(&m[..end]) {
            Framing::Incomplete { needed } => {
                if let Some(n) = needed {
                    assert_eq!(end + n, m.len());
                }
            }
            other => panic!("prefix {end}: {other:?}"),
        }
    }
    assert_eq!(frame(&m), Framing::Complete { len: m.len() });
}
/// A message structure rendered by the tiny test-only writer below.
#[derive(Debug, Clone)]
struct Gen {
    request: Option<(String, String)>,
    status: (u16, String),
    call_id: String,
    cseq: (u32, String),
    from: (Option<String>, String, String),
    vias: Vec<(String, String, Option<u16>, String)>,
    extra: Vec<(String, String)>,
    compact: bool,
    body: Vec<u8>,
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9.!%*_+`'~-]{0,15}"
}

fn gen() -> impl Strategy<Value = Gen> {
    (
        proptest::option::of((token(), "sip:[a-z0-9]{1,8}@[a-z0-9.]{1,12}")),
        (100u16..=699, "[A-Za-z][A-Za-z0-9 ]{0,20}"),
        "[A-Za-z0-9.@_-]{1,30}",
        (any::<u32>(), token()),
        (
            proptest::option::of("[A-Za-z][A-Za-z0-9 ]{0,10}[A-Za-z0-9]"),
            "sip:[a-z]{1,8}@[a-z.]{1,10}",
            "[A-Za-z0-9]{1,10}",
        ),
        proptest::collection::vec(
            (
                "UDP|TCP|TLS|WS",
                "[a-z0-9.]{1,15}",
                proptest::option::of(any::<u16>()),
                "z9hG4bK[A-Za-z0-9]{1,10}",
            ),
            1..4,
        ),
        proptest::collection::vec(("X-[A-Za-z0-9-]{1,10}", "[!-~]([ -~]{0,30}[!-~])?"), 0..4),
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(
            |(request, status, call_id, cseq, from, vias, extra, compact, body)| Gen {
                request,
                status,
                call_id,
                cseq,
                from,
                vias,
                extra,
                compact,
                body,
            },
        )
}

/// Test-only writer: renders `g` as a SIP message.
fn render(g: &Gen) -> Vec<u8> {
    let mut s = match &g.request {
        Some((m, uri)) => format!("{m} {uri} SIP/2.0\r\n"),
        None => format!("SIP/2.0 {} {}\r\n", g.status.0, g.status.1),
    };
    let (i, f, v, l) = if g.compact {
        ("i", "f", "v", "l")
    } else {
        ("Call-ID", "From", "Via", "Content-Length")
    };
    for (t, h, p, b) in &g.vias {
        let port = p.map(|p| format!(":{p}")).unwrap_or_default();
        s.push_str(&format!("{v}: SIP/2.0/{t} {h}{port};branch={b}\r\n"));
    }
    let display = g
        .from
        .0
        .as_ref()
        .map(|d| format!("\"{d}\" "))
        .unwrap_or_default();
    s.push_str(&format!(
        "{f}: {display}<{}>;tag={}\r\n",
        g.from.1, g.from.2
    ));
    s.push_str(&format!(
        "{i}: {}\r\nCSeq: {} {}\r\n",
        g.call_id, g.cseq.0, g.cseq.1
    ));
    for (n, val) in &g.extra {
        s.push_str(&format!("{n}: {val}\r\n"));
    }
    s.push_str(&format!("{l}: {}\r\n\r\n", g.body.len()));
    let mut out = s.into_bytes();
    out.extend_from_slice(&g.body);
    out
}

proptest! {
    /// Name::of is exactly a case-insensitive comparison with every spelling, on names near the
    /// spellings: case flipped, bytes that differ from one by 0x20 (`-` and CR, `_` and DEL), cut.
    #[test]
    fn header_names_are_known_exactly_as_case_insensitive_spellings(
        pick in 0..Name::ALL.len(),
        edits in proptest::collection::vec((any::<proptest::sample::Index>(), 0u8..4, 0u8..128), 0..4),
        cut in any::<proptest::sample::Index>(),
    ) {
        let mut b = Name::ALL[pick].as_str().as_bytes().to_vec();
        for (at, kind, byte) in edits {
            let i = at.index(b.len());
            match kind {
                0 => b[i] ^= 0x20,
                1 => b[i] = b[i].to_ascii_uppercase(),
                2 => b[i] = byte,
                _ => b.insert(i, byte),
            }
        }
        let end = cut.index(b.len() + 2).min(b.len());
        let name = std::str::from_utf8(&b[..end]).expect("ASCII");
        let expected = Name::ALL.iter().copied().find(|n| n.as_str().eq_ignore_ascii_case(name));
        prop_assert_eq!(Name::of(name), expected);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        exercise(&bytes);
    }

    #[test]
    fn sip_like_bytes_never_panic(
        start in prop_oneof![Just(&b"INVITE sip:a@b SIP/2.0\r\n"[..]), Just(&b"SIP/2.0 200 OK\r\n"[..])],
        tail in proptest::collection::vec(prop_oneof![
            Just(b'\r'), Just(b'\n'), Just(b' '), Just(b':'), Just(b';'), Just(b','), Just(b'"'), Just(b'<'),
            Just(b'>'), Just(b'='), Just(b'\\'), Just(b'-'), Just(b'v'), Just(b'l'), Just(b'1'), Just(b'/'),
            Just(b'['), Just(b']'), Just(0xff), any::<u8>()
        ], 0..300),
    ) {
        let mut buf = start.to_vec();
        buf.extend_from_slice(&tail);
        exercise(&buf);
    }

    #[test]
    fn a_cut_message_keeps_a_prefix_of_its_header_fields(g in gen(), cut in any::<proptest::sample::Index>()) {
        let bytes = render(&g);
        let whole = parse(&bytes).expect("rendered message parses");
        let end = cut.index(bytes.len() + 1);
        if let Ok(h) = parse_head(&bytes[..end]) {
            prop_assert_eq!(&h.start, &whole.start);
            prop_assert!(h.headers.len() <= whole.headers.len());
            for (a, b) in h.headers.iter().zip(&whole.headers) {
                prop_assert_eq!(a, b);
            }
        }
    }

    #[test]
    fn render_then_parse_round_trips(g in gen()) {
        let bytes = render(&g);
        let m = parse(&bytes).expect("rendered message parses");
        prop_assert_eq!(frame(&bytes), Framing::Complete { len: bytes.len() });
        match (&g.request, &m.start) {
            (Some((method, uri)), StartLine::Request { method: got_m, uri: got_u }) => {
                prop_assert_eq!(method.as_str(), got_m.as_str());
                prop_assert_eq!(uri.as_str(), *got_u);
            }
            (None, StartLine::Response { status, reason }) => {
                prop_assert_eq!(status.0, g.status.0);
                prop_assert_eq!(reason.as_ref(), g.status.1.trim_end());
            }
            _ => prop_assert!(false, "start line kind differs"),
        }
        prop_assert_eq!(m.call_id(), Some(g.call_id.as_str()));
        let cseq = m.cseq().expect("cseq");
        prop_assert_eq!((cseq.seq, cseq.method.as_str()), (g.cseq.0, g.cseq.1.as_str()));
        let from = m.from().expect("from");
        prop_assert_eq!(from.display, g.from.0.as_deref());
        prop_assert_eq!((from.uri, from.tag), (g.from.1.as_str(), Some(g.from.2.as_str())));
        let vias: Vec<_> = m.vias().map(|v| (v.transport.to_owned(), v.host.to_owned(), v.port, v.branch.map(str::to_owned))).collect();
        let want: Vec<_> = g.vias.iter().map(|(t, h, p, b)| (t.clone(), h.clone(), *p, Some(b.clone()))).collect();
        prop_assert_eq!(vias, want);
        for (n, v) in &g.extra {
            prop_assert!(m.headers_named(n).any(|h| h.value == v.as_str()));
        }
        prop_assert_eq!(m.body, &g.body[..]);
        prop_assert_eq!(m.len, bytes.len());
    }
}
