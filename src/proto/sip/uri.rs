//! URIs split into their parts: SIP and SIPS (RFC 3261 §19.1), tel (RFC 3966) and any other scheme.
//!
//! Takes in: one URI as text, with or without angle brackets and surrounding whitespace.
//! Produces: a borrowed [`Uri`] (scheme, user, password, host, port, parameters, headers) or [`Error::BadUri`]
//! saying which part did not follow the grammar.
//! Does not: unescape `%HH`, normalise case, or validate a host name or a telephone number.

use super::grammar::{self, trim_lws_str};
use super::Error;

/// A SIP/SIPS/TEL or other URI split into parts (RFC 3261 §19.1, RFC 3966). Nothing is unescaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uri<'s> {
    /// Scheme as sent (`sip`, `sips`, `tel`, ...).
    pub scheme: &'s str,
    pub user: Option<&'s str>,
    pub password: Option<&'s str>,
    /// Host (IPv6 without brackets) for sip/sips; for other schemes the opaque part before the first `;`
    /// (for tel: the number).
    pub host: &'s str,
    pub port: Option<u16>,
    /// URI parameters without the leading `;` (use [`param`](super::param)).
    pub params: &'s str,
    /// URI headers after `?`.
    pub headers: Option<&'s str>,
}

impl<'s> Uri<'s> {
    /// Parses a URI, tolerating surrounding whitespace and angle brackets.
    pub fn parse(s: &'s str) -> Result<Uri<'s>, Error> {
        let s = trim_lws_str(s);
        let s = s
            .strip_prefix('<')
            .and_then(|x| x.strip_suffix('>'))
            .unwrap_or(s);
        let (scheme, rest) = s.split_once(':').ok_or(Error::BadUri {
            reason: "no scheme",
        })?;
        let scheme_ok = scheme
            .as_bytes()
            .first()
            .is_some_and(u8::is_ascii_alphabetic)
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if !scheme_ok {
            return Err(Error::BadUri {
                reason: "scheme is not alpha *( alpha / digit / \"+\" / \"-\" / \".\" )",
            });
        }
        let is_sip = scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips");
        if !is_sip {
            let (rest, headers) = split_headers(rest);
            let (host, params) = rest.split_once(';').unwrap_or((rest, ""));
            return Ok(Uri {
                scheme,
                user: None,
                password: None,
                host,
                port: None,
                params,
                headers,
            });
        }
        // The user part may itself contain `;`, `?` and `:` (RFC 4475 §3.1.1.2, §3.1.1.9), so split at the first
        // `@` before looking for parameters and headers.
        let (userinfo, hostpart) = match rest.find('@') {
            Some(at) => (rest.get(..at), rest.get(at + 1..).unwrap_or_default()),
            None => (None, rest),
        };
        let (hostpart, headers) = split_headers(hostpart);
        let (user, password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((user, pw)) => (Some(user), Some(pw)),
                None => (Some(u), None),
            },
            None => (None, None),
        };
        let (after, (host, port)) = grammar::host_port(hostpart).map_err(|_| Error::BadUri {
            reason: "bad host or port",
        })?;
        let port = match port {
            Some(p) => Some(p.parse::<u16>().map_err(|_| Error::BadUri {
                reason: "port out of range",
            })?),
            None => None,
        };
        let params = match after.strip_prefix(';') {
            Some(p) => p,
            None if after.is_empty() => "",
            None => {
                return Err(Error::BadUri {
                    reason: "unexpected characters after host",
                })
            }
        };
        Ok(Uri {
            scheme,
            user,
            password,
            host,
            port,
            params,
            headers,
        })
    }
}

fn split_headers(s: &str) -> (&str, Option<&str>) {
    match s.split_once('?') {
        Some((r, h)) => (r, Some(h)),
        None => (s, None),
    }
}
