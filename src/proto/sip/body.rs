//! SDP bodies of a SIP message, directly or inside `multipart/*` bodies (RFC 3261 §7.4, RFC 2046 §5.1, RFC 5621).
//!
//! Takes in: a parsed [`Message`] (its Content-Type and body).
//! Produces: [`Message::sdp_bodies`], the body slices that hold SDP, nested multiparts included, at most
//! [`MAX_MULTIPART_PARTS`] parts examined.
//! Does not: parse SDP (see `crate::proto::sdp`), decode Content-Transfer-Encoding, or look at parts other than
//! their Content-Type.

use super::grammar::{next_line, param, trim_lws, trim_lws_str};
use super::message::Message;
use super::MAX_MULTIPART_PARTS;

impl<'a> Message<'a> {
    /// SDP bodies: the body if it is `application/sdp` (or has no Content-Type and starts with `v=`), else the
    /// `application/sdp` parts of a `multipart/*` body (RFC 2046 §5.1, RFC 5621), nested multiparts included,
    /// at most [`MAX_MULTIPART_PARTS`] parts examined. Empty or whitespace-only bodies are left out (a response
    /// may carry `Content-Type: application/sdp` with `Content-Length: 0`).
    pub fn sdp_bodies(&self) -> Vec<&'a [u8]> {
        let mut out = Vec::new();
        let mut budget = MAX_MULTIPART_PARTS;
        match self.content_type() {
            Some(ct) => collect_sdp(ct, self.body, 0, &mut budget, &mut out),
            None => {
                if self.body.starts_with(b"v=") {
                    out.push(self.body);
                }
            }
        }
        out.retain(|b| !b.iter().all(u8::is_ascii_whitespace));
        out
    }
}

fn media_type(content_type: &str) -> &str {
    trim_lws_str(content_type.split(';').next().unwrap_or_default())
}

fn collect_sdp<'a>(
    content_type: &str,
    body: &'a [u8],
    depth: usize,
    budget: &mut usize,
    out: &mut Vec<&'a [u8]>,
) {
    let mt = media_type(content_type);
    if mt.eq_ignore_ascii_case("application/sdp") {
        out.push(body);
        return;
    }
    if depth >= 3
        || mt.len() < 10
        || !mt
            .get(..10)
            .is_some_and(|p| p.eq_ignore_ascii_case("multipart/"))
    {
        return;
    }
    let params = content_type.split_once(';').map_or("", |(_, p)| p);
    let Some(Some(boundary)) = param(params, "boundary") else {
        return;
    };
    // RFC 2046 §5.1.1: 1 to 70 characters; the bound also keeps the delimiter search linear in practice.
    if boundary.is_empty() || boundary.len() > 70 {
        return;
    }
    for part in multipart_parts(body, boundary.as_bytes()) {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let (part_ct, content) = split_part(part);
        let part_ct = part_ct.unwrap_or("text/plain");
        collect_sdp(part_ct, content, depth + 1, budget, out);
    }
}

/// Splits a multipart body at `--boundary` delimiter lines (RFC 2046 §5.1.1); returns each part's bytes
/// (headers and content, without the CRLF that belongs to the next delimiter).
fn multipart_parts<'a>(body: &'a [u8], boundary: &[u8]) -> Vec<&'a [u8]> {
    let mut delim = Vec::with_capacity(boundary.len() + 2);
    delim.extend_from_slice(b"--");
    delim.extend_from_slice(boundary);
    let mut starts = Vec::new();
    let mut i = 0;
    while let Some(found) = find(body.get(i..).unwrap_or_default(), &delim) {
        let at = i + found;
        // A delimiter starts the body or a line.
        if at == 0 || body.get(at - 1) == Some(&b'\n') {
            starts.push(at);
            if starts.len() > MAX_MULTIPART_PARTS + 1 {
                break;
            }
        }
        i = at + delim.len();
    }
    let mut parts = Vec::new();
    for w in starts.windows(2) {
        let &[a, b] = w else { continue };
        let after = a + delim.len();
        if body.get(after..after + 2) == Some(b"--") {
            break;
        }
        let (_, content_start) = next_line(body, after);
        let mut end = b;
        if end > content_start && body.get(end - 1) == Some(&b'\n') {
            end -= 1;
            if end > content_start && body.get(end - 1) == Some(&b'\r') {
                end -= 1;
            }
        }
        if let Some(p) = body.get(content_start..end.max(content_start)) {
            parts.push(p);
        }
    }
    parts
}

/// Splits a MIME part into its Content-Type (if any) and content.
fn split_part(part: &[u8]) -> (Option<&str>, &[u8]) {
    let mut pos = 0;
    let mut ct = None;
    while pos < part.len() {
        let (line, next) = next_line(part, pos);
        pos = next;
        if line.is_empty() {
            return (ct, part.get(pos..).unwrap_or_default());
        }
        if let Some((name, value)) =
            line.split_at_checked(line.iter().position(|&b| b == b':').unwrap_or(0))
        {
            if trim_lws(name).eq_ignore_ascii_case(b"content-type") {
                ct = std::str::from_utf8(value.get(1..).unwrap_or_default())
                    .ok()
                    .map(trim_lws_str);
            }
        }
    }
    // A part without an empty line has no headers (RFC 2046 §5.1.1 allows that) only if it started with one.
    (ct, &[])
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}
