//! Tests of SDP body extraction, multipart bodies included.

use super::*;

// --- SDP bodies ----------------------------------------------------------------------------------------

#[test]
fn sdp_plain() {
    let buf = msg(
        "INVITE sip:a SIP/2.0\r\nContent-Type: application/SDP\r\nContent-Length: {CL}\r\n\r\n",
        SDP,
    );
    assert_eq!(ok(&buf).sdp_bodies(), [SDP.as_bytes()]);
}
#[test]
fn sdp_with_params() {
    let buf = msg(
        "INVITE sip:a SIP/2.0\r\nc: application/sdp; charset=utf-8\r\nl: {CL}\r\n\r\n",
        SDP,
    );
    assert_eq!(ok(&buf).sdp_bodies(), [SDP.as_bytes()]);
}
#[test]
fn sdp_no_content_type_sniffed() {
    let buf = msg("INVITE sip:a SIP/2.0\r\nl: {CL}\r\n\r\n", SDP);
    assert_eq!(ok(&buf).sdp_bodies(), [SDP.as_bytes()]);
}
#[test]
fn sdp_empty_body_left_out() {
    let buf = msg(
        "SIP/2.0 200 OK\r\nContent-Type: application/sdp\r\nContent-Length: {CL}\r\n\r\n",
        "\r\n",
    );
    assert!(ok(&buf).sdp_bodies().is_empty());
}
#[test]
fn sdp_other_type() {
    let buf = msg(
        "INVITE sip:a SIP/2.0\r\nContent-Type: text/plain\r\nl: {CL}\r\n\r\n",
        SDP,
    );
    assert!(ok(&buf).sdp_bodies().is_empty());
}
#[test]
fn sdp_multipart_mixed() {
    let body = format!(
        "--b1\r\nContent-Type: application/isup;version=itu-t92+\r\n\r\n\x01\x02\x03\r\n--b1\r\nContent-Type: application/sdp\r\n\r\n{SDP}\r\n--b1--\r\n"
    );
    let buf = msg("INVITE sip:a SIP/2.0\r\nContent-Type: multipart/mixed;boundary=b1\r\nContent-Length: {CL}\r\n\r\n", &body);
    assert_eq!(ok(&buf).sdp_bodies(), [SDP.as_bytes()]);
}
#[test]
fn sdp_multipart_quoted_boundary_and_preamble() {
    let body = format!(
        "preamble\r\n--\"x\"\r\n--xyz\r\nContent-Type: application/sdp\r\n\r\n{SDP}\r\n--xyz--"
    );
    let buf = msg("INVITE sip:a SIP/2.0\r\nContent-Type: multipart/alternative; boundary=\"xyz\"\r\nContent-Length: {CL}\r\n\r\n", &body);
    assert_eq!(ok(&buf).sdp_bodies(), [SDP.as_bytes()]);
}
#[test]
fn sdp_multipart_nested() {
    let inner = format!("--in\r\nContent-Type: application/sdp\r\n\r\n{SDP}\r\n--in--");
    let body = format!(
        "--out\r\nContent-Type: multipart/related;boundary=in\r\n\r\n{inner}\r\n--out--\r\n"
    );
    let buf = msg("INVITE sip:a SIP/2.0\r\nContent-Type: multipart/mixed;boundary=out\r\nContent-Length: {CL}\r\n\r\n", &body);
    assert_eq!(ok(&buf).sdp_bodies(), [SDP.as_bytes()]);
}
#[test]
fn sdp_multipart_boundary_too_long() {
    let b = "b".repeat(71);
    let body = format!("--{b}\r\nContent-Type: application/sdp\r\n\r\n{SDP}\r\n--{b}--\r\n");
    let head = format!("INVITE sip:a SIP/2.0\r\nContent-Type: multipart/mixed;boundary={b}\r\nContent-Length: {{CL}}\r\n\r\n");
    let buf = msg(&head, &body);
    assert!(ok(&buf).sdp_bodies().is_empty());
}
#[test]
fn sdp_multipart_no_boundary() {
    let buf = msg(
        "INVITE sip:a SIP/2.0\r\nContent-Type: multipart/mixed\r\nContent-Length: {CL}\r\n\r\n",
        SDP,
    );
    assert!(ok(&buf).sdp_bodies().is_empty());
}
#[test]
fn sdp_multipart_bounded() {
    let mut body = String::new();
    for _ in 0..100 {
        body.push_str("--b\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n");
    }
    body.push_str("--b--");
    let buf = msg("INVITE sip:a SIP/2.0\r\nContent-Type: multipart/mixed;boundary=b\r\nContent-Length: {CL}\r\n\r\n", &body);
    assert_eq!(ok(&buf).sdp_bodies().len(), MAX_MULTIPART_PARTS);
}
