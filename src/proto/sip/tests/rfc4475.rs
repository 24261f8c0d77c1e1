//! RFC 4475 torture messages, written from the RFC's descriptions with bodies shortened: which must parse (and
//! to what) and which must be rejected.

use std::borrow::Cow;

use super::*;

// --- RFC 4475 torture messages (written from the RFC's descriptions; bodies shortened) -----------------

const TORTURE_SDP: &str = "v=0\r\no=mhandley 29739 7272939 IN IP4 192.0.2.3\r\ns=-\r\nc=IN IP4 192.0.2.4\r\nt=0 0\r\nm=audio 49217 RTP/AVP 0 12\r\nm=video 3227 RTP/AVP 31\r\na=rtpmap:31 LPC\r\n";

/// §3.1.1.1 wsinv: LWS and folding everywhere, compact forms, unknown headers, mixed case names.
pub(super) fn wsinv() -> Vec<u8> {
    msg(
        "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\r\n\
TO :\r\n sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\r\n\
from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8\r\n\
MaX-fOrWaRdS: 0068\r\n\
Call-ID: wsinv.ndaksdj@192.0.2.1\r\n\
Content-Length   : {CL}\r\n\
cseq: 0009\r\n  INVITE\r\n\
Via  : SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw\r\n\
s :\r\n\
NewFangledHeader:   newfangled value\r\n continued newfangled value\r\n\
UnknownHeaderWithUnusualValue: ;;,,;;,;\r\n\
Content-Type: application/sdp\r\n\
Route:\r\n <sip:services.example.com;lr;unknownwith=value;unknown-no-value>\r\n\
v:  SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8  ,\r\n SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239\r\n\
m:\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\r\n      newvalue ;\r\n  secondparam ; q = 0.33\r\n\
\r\n",
        TORTURE_SDP,
    )
}

#[test]
fn rfc4475_wsinv() {
    let buf = wsinv();
    let m = ok(&buf);
    assert_eq!(m.method(), Some(Method::Invite));
    assert_eq!(m.call_id(), Some("wsinv.ndaksdj@192.0.2.1"));
    assert_eq!(
        m.cseq(),
        Some(CSeq {
            seq: 9,
            method: Method::Invite
        })
    );
    assert_eq!(m.max_forwards(), Some(68));
    let to = m.to().expect("to");
    assert_eq!(
        (to.uri, to.tag),
        ("sip:vivekg@chair-dnrc.example.com", Some("1918181833n"))
    );
    let from = m.from().expect("from");
    assert_eq!(
        (from.display, from.uri, from.tag),
        (
            Some("J Rosenberg \\\\\\\""),
            "sip:jdrosen@example.com",
            Some("98asjd8")
        )
    );
    let vias: Vec<_> = m.vias().map(|v| (v.transport, v.host, v.branch)).collect();
    assert_eq!(
        vias,
        [
            ("UDP", "192.0.2.2", Some("390skdjuw")),
            ("TCP", "spindle.example.com", Some("z9hG4bK9ikj8")),
            ("UDP", "192.168.255.111", Some("z9hG4bK30239")),
        ]
    );
    assert_eq!(
        m.header_value("NewFangledHeader"),
        Some("newfangled value continued newfangled value")
    );
    assert_eq!(m.header_value("Subject"), Some(""));
    assert_eq!(
        m.route(),
        ["sip:services.example.com;lr;unknownwith=value;unknown-no-value"]
    );
    let contact = m.contact().expect("contact");
    assert_eq!(
        (contact.display, contact.uri),
        (Some("Quoted string \\\"\\\""), "sip:jdrosen@example.com")
    );
    assert_eq!(param(contact.params, "newparam"), Some(Some("newvalue")));
    assert_eq!(param(contact.params, "q"), Some(Some("0.33")));
    assert_eq!(m.sdp_bodies(), [TORTURE_SDP.as_bytes()]);
    assert_eq!(m.truncated, None);
}

/// §3.1.1.2 intmeth: unusual but valid characters in method, URI, display names and Call-ID.
pub(super) const INTMETH: &[u8] = b"!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0\r\n\
Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\r\n\
To: \"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7F\" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>\r\n\
From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%=\"\xD1\x80\xD0\xB0\xD0\xB1\xD0\xBE\xD1\x82\xD0\xB0\xD1\x8E\xD1\x89\xD0\xB8\xD0\xB9\";tag=_token~1'+`*%!-.\r\n\
Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{\r\n\
CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~\r\n\
Max-Forwards: 255\r\n\
extensionHeader-!.%*+_`'~:\xEF\xBB\xBF\xE5\xA4\xA7\xE5\x81\x9C\xE9\x9B\xBB\r\n\
Content-Length: 0\r\n\r\n";

#[test]
fn rfc4475_intmeth() {
    let m = ok(INTMETH);
    let method = Method::Other("!interesting-Method0123456789_*+`.%indeed'~");
    assert_eq!(m.method(), Some(method));
    assert_eq!(
        m.cseq(),
        Some(CSeq {
            seq: 139_122_385,
            method
        })
    );
    assert_eq!(
        m.call_id(),
        Some("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{")
    );
    assert_eq!(
        m.top_via().and_then(|v| v.branch),
        Some("z9hG4bK-.!%66*_+`'~")
    );
    let from = m.from().expect("from");
    assert_eq!(from.display, Some("token1~` token2'+_ token3*%!.-"));
    assert_eq!(from.tag, Some("_token~1'+`*%!-."));
    let to = m.to().expect("to");
    assert_eq!(
        to.uri,
        "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com"
    );
    assert_eq!(
        m.header_value("extensionHeader-!.%*+_`'~"),
        Some("\u{feff}大停電")
    );
    let StartLine::Request { uri, .. } = m.start else {
        panic!("request")
    };
    let uri = Uri::parse(uri).expect("uri");
    assert_eq!(uri.host, "example.com");
}

/// §3.1.1.3 esc01 and §3.1.1.4 escnull: escapes are kept, not decoded.
#[test]
fn rfc4475_escapes() {
    let buf = msg(
        "INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0\r\nTo: sip:%75se%72@example.com\r\nFrom: <sip:I%20have%20spaces@example.net>;tag=938\r\nMax-Forwards: 87\r\ni: esc01.239409asdfakjkn23onasd0-3234\r\nCSeq: 234234 INVITE\r\nVia: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw\r\nC: application/sdp\r\nContact:\r\n  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>\r\nContent-Length: {CL}\r\n\r\n",
        TORTURE_SDP,
    );
    let m = ok(&buf);
    assert_eq!(m.call_id(), Some("esc01.239409asdfakjkn23onasd0-3234"));
    let StartLine::Request { uri, .. } = m.start else {
        panic!("request")
    };
    let uri = Uri::parse(uri).expect("uri");
    assert_eq!(
        (uri.user, uri.host),
        (Some("sips%3Auser%40example.com"), "example.net")
    );
    assert_eq!(
        m.contact().map(|c| c.uri),
        Some("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31")
    );
    assert_eq!(m.sdp_bodies().len(), 1);

    let m = ok(b"REGISTER sip:example.com SIP/2.0\r\nTo: sip:null-%00-null@example.com\r\nFrom: sip:null-%00-null@example.com;tag=839923423\r\nMax-Forwards: 70\r\nCall-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd\r\nCSeq: 14398234 REGISTER\r\nVia: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw\r\nContact: <sip:%00@host5.example.com>\r\nContact: <sip:%00%00@host5.example.com>\r\nL:0\r\n\r\n");
    assert_eq!(
        m.cseq(),
        Some(CSeq {
            seq: 14_398_234,
            method: Method::Register
        })
    );
    assert_eq!(m.from().and_then(|f| f.tag), Some("839923423"));
    assert_eq!(m.contacts().count(), 2);
    assert_eq!(m.content_length(), Some(0));
}

/// §3.1.1.5 esc02: `%` in a method is not an escape; the method is unknown.
#[test]
fn rfc4475_esc02() {
    let m = ok(b"RE%47IST%45R sip:registrar.example.com SIP/2.0\r\nTo: \"%Z%45\" <sip:resource@example.com>\r\nFrom: \"%Z%45\" <sip:resource@example.com>;tag=f232jadfj23\r\nCall-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf\r\nVia: SIP/2.0/TCP host.example.com;rport;branch=z9hG4bK209%fzsnel234\r\nCSeq: 29344 RE%47IST%45R\r\nMax-Forwards: 70\r\nContact: <sip:alias1@host1.example.com>\r\nC%6Fntact: <sip:alias2@host2.example.com>\r\nContact: <sip:alias3@host3.example.com>\r\nl: 0\r\n\r\n");
    assert_eq!(m.method(), Some(Method::Other("RE%47IST%45R")));
    assert_eq!(
        m.cseq().map(|c| c.method),
        Some(Method::Other("RE%47IST%45R"))
    );
    assert_eq!(
        m.top_via().map(|v| (v.rport, v.branch)),
        Some((Some(None), Some("z9hG4bK209%fzsnel234")))
    );
    assert_eq!(m.from().and_then(|f| f.display), Some("%Z%45"));
    // `C%6Fntact` is a different (extension) header name.
    assert_eq!(m.contacts().count(), 2);
    assert_eq!(
        m.header_value("C%6Fntact"),
        Some("<sip:alias2@host2.example.com>")
    );
}

/// §3.1.1.6 lwsdisp and §3.1.1.9 semiuri.
#[test]
fn rfc4475_lwsdisp_semiuri() {
    let m = ok(b"OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0\r\nTo: sip:j_user@example.com\r\nFrom: caller<sip:caller@example.com>;tag=323\r\nMax-Forwards: 70\r\nCall-ID: lwsdisp.1234abcd@funky.example.com\r\nCSeq: 60 OPTIONS\r\nVia: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw\r\nl: 0\r\n\r\n");
    assert_eq!(
        m.from().map(|f| (f.display, f.tag)),
        Some((Some("caller"), Some("323")))
    );
    let StartLine::Request { uri, .. } = m.start else {
        panic!("request")
    };
    assert_eq!(
        Uri::parse(uri).map(|u| u.user),
        Ok(Some("user;par=u%40example.net"))
    );
}

/// §3.1.1.7 longreq: long values and many Via headers (kept under MAX_HEADER_BLOCK).
#[test]
fn rfc4475_longreq() {
    let long = "x".repeat(400);
    let mut head = format!(
        "INVITE sip:user@example.com SIP/2.0\r\nTo: \"I have a user name of {long} proportion\" <sip:user@example.com:6000;unknownparam1=very{long}longvalue>\r\nFrom: sip:amazinglylongcallername{long}@example.net;tag=12{long}982\r\nCall-ID: longreq.one{long}really\r\nCSeq: 3882340 INVITE\r\nMax-Forwards: 70\r\n"
    );
    for i in 0..50 {
        head.push_str(&format!(
            "Via: SIP/2.0/TCP sip{i}.example.com;branch=z9hG4bK{i}{long}\r\n"
        ));
    }
    head.push_str("Content-Length: 0\r\n\r\n");
    let m = ok(head.as_bytes());
    assert_eq!(m.vias().count(), 50);
    assert_eq!(
        m.call_id(),
        Some(format!("longreq.one{long}really").as_str())
    );
    assert_eq!(
        m.from().and_then(|f| f.tag),
        Some(format!("12{long}982").as_str())
    );
    assert_eq!(
        m.to().map(|t| t.uri.to_owned()),
        Some(format!(
            "sip:user@example.com:6000;unknownparam1=very{long}longvalue"
        ))
    );
}

/// §3.1.1.8 dblreq: octets after Content-Length in a datagram are not part of the message.
#[test]
fn rfc4475_dblreq() {
    let buf = b"REGISTER sip:example.com SIP/2.0\r\nTo: sip:j.user@example.com\r\nFrom: sip:j.user@example.com;tag=43251j3j324\r\nMax-Forwards: 8\r\nI: dblreq.0ha0isndaksdj99sdfafnl3lk233412\r\nContact: sip:j.user@host.example.com\r\nCSeq: 8 REGISTER\r\nVia: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492\r\nContent-Length: 0\r\n\r\nINVITE sip:joe@example.com SIP/2.0\r\nt: sip:joe@example.com\r\nFrom: sip:caller@example.net;tag=141334\r\nMax-Forwards: 8\r\nCall-ID: dblreq.0ha0isnda977644900765@192.0.2.15\r\nCSeq: 8 INVITE\r\nVia: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234\r\nContent-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n";
    let m = ok(buf);
    assert_eq!(m.method(), Some(Method::Register));
    assert_eq!(m.body, b"");
    assert!(m.len < buf.len());
    let all: Vec<_> = parse_all(buf).map(|r| r.map(|m| m.method())).collect();
    assert_eq!(all, [Ok(Some(Method::Register)), Ok(Some(Method::Invite))]);
}

/// §3.1.1.10 transports: known and unknown transports in Via.
#[test]
fn rfc4475_transports() {
    let m = ok(b"OPTIONS sip:user@example.com SIP/2.0\r\nTo: sip:user@example.com\r\nFrom: <sip:caller@example.com>;tag=323\r\nMax-Forwards: 70\r\nCall-ID:  transports.kijh4akdnaqjkwendsasfdj\r\nAccept: application/sdp\r\nCSeq: 60 OPTIONS\r\nVia: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw\r\nVia: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf\r\nVia: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj\r\nVia: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en\r\nVia: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee\r\nl: 0\r\n\r\n");
    let t: Vec<_> = m.vias().map(|v| v.transport).collect();
    assert_eq!(t, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
    assert_eq!(m.call_id(), Some("transports.kijh4akdnaqjkwendsasfdj"));
}

/// §3.1.1.11 mpart01: multipart/mixed with an SDP part and a binary signature part.
#[test]
fn rfc4475_mpart01() {
    let sdp = "v=0\r\no=- 3 2 IN IP4 192.0.2.3\r\ns=-\r\nc=IN IP4 192.0.2.3\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8\r\n";
    let mut body = format!("--7a9cbec02ceef655\r\nContent-Type: application/sdp\r\nContent-Transfer-Encoding: binary\r\n\r\n{sdp}\r\n--7a9cbec02ceef655\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n").into_bytes();
    body.extend_from_slice(&[
        0x30, 0x82, 0x01, 0x52, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02,
        0xa0, 0x0d, 0x0a,
    ]);
    body.extend_from_slice(b"\r\n--7a9cbec02ceef655--\r\n");
    let mut buf = format!("MESSAGE sip:kumiko@example.org SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.3;branch=z9hG4bK0hhjuw\r\nMax-Forwards: 70\r\nFrom: \"Bob\" <sip:bob@example.com>;tag=a2\r\nTo: <sip:kumiko@example.org>\r\nCall-ID: mpart01.1234@example.com\r\nCSeq: 10 MESSAGE\r\nContent-Type: multipart/mixed;boundary=7a9cbec02ceef655\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    buf.extend_from_slice(&body);
    let m = ok(&buf);
    assert_eq!(m.method(), Some(Method::Message));
    assert_eq!(m.sdp_bodies(), [sdp.as_bytes()]);
}

/// §3.1.1.12 unreason and §3.1.1.13 noreason.
#[test]
fn rfc4475_reason_phrases() {
    let m = ok("SIP/2.0 200 = 2**3 * 5**2 но сто девяносто девять - простое\r\nVia: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923\r\nCall-ID: unreason.1234ksdfak3j2erwedfsASdf\r\nCSeq: 35 INVITE\r\nFrom: sip:user@example.com;tag=11141343\r\nTo: sip:user@example.edu;tag=2229\r\nContent-Length: 0\r\n\r\n".as_bytes());
    assert_eq!(
        m.start,
        StartLine::Response {
            status: StatusCode::OK,
            reason: Cow::Borrowed("= 2**3 * 5**2 но сто девяносто девять - простое")
        }
    );
    assert_eq!(m.to().and_then(|t| t.tag), Some("2229"));
    let m = ok(b"SIP/2.0 100 \r\nVia: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe\r\nCall-ID: noreason.asndj203insdf99223ndf\r\nCSeq: 35 INVITE\r\nFrom: <sip:user@example.com>;tag=39ansfi3\r\nTo: <sip:user@example.edu>;tag=902jndnke3\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(m.status(), Some(StatusCode::TRYING));
}

/// §3.1.2 invalid messages: which are rejected and which parse leniently (the lenient ones keep enough
/// structure for forensics; semantic checks belong to callers).
#[test]
fn rfc4475_invalid_messages() {
    const HDRS: &str = "Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bK1\r\nTo: sip:j.user@example.com\r\nFrom: sip:caller@example.net;tag=134161461246\r\nMax-Forwards: 7\r\nCall-ID: inv.0ha0isndaksdjasdf3234nas\r\nCSeq: 8 INVITE\r\n";
    let with = |start: &str, extra: &str, body: &str| {
        format!("{start}\r\n{HDRS}{extra}\r\n{body}").into_bytes()
    };

    // badinv01: extraneous separators, lenient: the Via list yields the one real value.
    let b = with(
        "INVITE sip:user@example.com SIP/2.0",
        "Contact: sip:caller@host.example.net;;;;\r\nVia: SIP/2.0/UDP 192.0.2.15;;,;,,\r\nl: 0\r\n",
        "",
    );
    let m = ok(&b);
    assert_eq!(m.vias().count(), 2);
    // clerr: Content-Length larger than the message, flagged.
    let b = with(
        "INVITE sip:user@example.com SIP/2.0",
        "Content-Length: 9999\r\n",
        "v=0\r\n",
    );
    assert_eq!(
        ok(&b).truncated,
        Some(Truncation::Body {
            declared: 9999,
            available: 5
        })
    );
    // ncl: negative Content-Length, ignored (body is the rest).
    let b = with(
        "INVITE sip:user@example.com SIP/2.0",
        "Content-Length: -999\r\n",
        "v=0\r\n",
    );
    let m = ok(&b);
    assert_eq!((m.content_length(), m.body), (None, &b"v=0\r\n"[..]));
    // scalar02: overlarge CSeq is None, Max-Forwards 300 is reported as sent.
    let b = with(
        "REGISTER sip:example.com SIP/2.0",
        "CSeq: 36893488147419103232 REGISTER\r\nMax-Forwards: 300\r\nl: 0\r\n",
        "",
    );
    let m = ok(&b);
    assert_eq!(m.cseq().map(|c| c.seq), Some(8), "the first CSeq counts");
    assert_eq!(m.max_forwards(), Some(7));
    let b = b"SIP/2.0 503 Service Unavailable\r\nCSeq: 36893488147419103232 REGISTER\r\nWarning: 1812 overture \"In Progress\"\r\nl: 0\r\n\r\n";
    let m = ok(b);
    assert_eq!((m.cseq(), m.warnings().len()), (None, 0));
    // quotbal: unterminated quoted display name, the header is unusable but the message parses.
    let b = b"INVITE sip:user@example.com SIP/2.0\r\nTo: \"Mr. J. User <sip:j.user@example.com>\r\nCall-ID: quotbal.aksdj\r\nl: 0\r\n\r\n";
    let m = ok(b);
    assert_eq!((m.to(), m.call_id()), (None, Some("quotbal.aksdj")));
    // ltgtruri, lwsruri, lwsstart, trws: lenient start line (tested in start_lenient_*).
    // escruri: headers in the Request-URI are kept in Uri::headers.
    // baddn: non-token display name without quotes, lenient.
    let b = b"OPTIONS sip:t.watson@example.org SIP/2.0\r\nFrom: Bell, Alexander <sip:a.g.bell@example.com>;tag=43\r\nl: 0\r\n\r\n";
    assert_eq!(
        ok(b).from().map(|f| (f.display, f.tag)),
        Some((Some("Bell, Alexander"), Some("43")))
    );
    // badvers and bigcode: rejected.
    assert_eq!(
        parse(b"OPTIONS sip:t.watson@example.org SIP/7.0\r\nl: 0\r\n\r\n").map_err(|e| e.code()),
        Err("unsupported-version")
    );
    assert_eq!(
        parse(b"SIP/2.0 4294967301 better not break the receiver\r\nl: 0\r\n\r\n")
            .map_err(|e| e.code()),
        Err("bad-start-line")
    );
    // mismatch01: CSeq method differs from the request method; both are reported as sent.
    let b = b"OPTIONS sip:user@example.com SIP/2.0\r\nCSeq: 8 INVITE\r\nl: 0\r\n\r\n";
    let m = ok(b);
    assert_eq!(
        (m.method(), m.cseq().map(|c| c.method)),
        (Some(Method::Options), Some(Method::Invite))
    );
    // mcl01: several Content-Length values, the first counts.
    let b = b"OPTIONS sip:user@example.com SIP/2.0\r\nContent-Length: 0\r\nl: 5\r\n\r\nabcde";
    assert_eq!(ok(b).body, b"");
    // regbadct: URI with headers not enclosed in <>, lenient (kept in the addr-spec URI).
    let b = b"REGISTER sip:example.com SIP/2.0\r\nContact: sip:user@example.com?Route=%3Csip:sip.example.com%3E\r\nl: 0\r\n\r\n";
    assert_eq!(
        ok(b).contact().map(|c| c.uri),
        Some("sip:user@example.com?Route=%3Csip:sip.example.com%3E")
    );
    // unkscm / novelsc: unknown schemes in the Request-URI parse.
    let m = ok(b"OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0\r\nl: 0\r\n\r\n");
    let StartLine::Request { uri, .. } = m.start else {
        panic!("request")
    };
    assert_eq!(Uri::parse(uri).map(|u| u.scheme), Ok("soap.beep"));
    // inv2543: RFC 2543 message without branch.
    let m = ok(b"INVITE sip:UserB@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.15\r\nFrom: <sip:UserA@example.com>\r\nTo: <sip:UserB@example.com>\r\nCall-ID: 1234567890@192.0.2.15\r\nCSeq: 1 INVITE\r\n\r\n");
    assert_eq!(
        m.top_via().map(|v| (v.host, v.branch)),
        Some(("192.0.2.15", None))
    );
    assert_eq!(m.from().and_then(|f| f.tag), None);
}
