//! The header fields of a SIP message that registrations, authentication and session timers
//! read: owned, and only where a message has them.
//!
//! Built in the parallel stage with the rest of [`Message`](super::message::Message), from one pass over
//! its header names; most messages of a call carry none of these, so they cost a message nothing but a
//! `None`. Values follow RFC 3261 §10 and §20 (Expires, Min-Expires, Contact `expires`), §22 and
//! RFC 7616 (challenges and credentials) and RFC 4028 (Session-Expires, Min-SE).

use crate::proto::sip;

/// The fields of one message; see the module doc.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fields {
    /// `Authorization` or `Proxy-Authorization`: the request carries credentials.
    pub credentials: Option<Credentials>,
    /// `WWW-Authenticate` or `Proxy-Authenticate`: the response challenges.
    pub challenge: Option<Challenge>,
    /// `Expires`, in seconds.
    pub expires: Option<u32>,
    /// `Min-Expires` (of a 423 Interval Too Brief), in seconds.
    pub min_expires: Option<u32>,
    /// Of a REGISTER or a response to one: every Contact with its `expires` parameter.
    pub bindings: Vec<Binding>,
    /// `Session-Expires`.
    pub session_expires: Option<SessionTimer>,
    /// `Min-SE`, in seconds.
    pub min_se: Option<u32>,
}

/// Credentials a request carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    pub username: Option<String>,
    pub realm: Option<String>,
}

/// A challenge a 401 or 407 carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Challenge {
    pub realm: Option<String>,
    /// `stale=true`: only the nonce had expired (RFC 7616 §3.3); the credentials were right.
    pub stale: bool,
}

/// A Contact of a REGISTER or of its response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The Contact URI (`*` for "all bindings").
    pub uri: String,
    /// Its `expires` parameter, in seconds.
    pub expires: Option<u32>,
}

/// Which side refreshes a session (RFC 4028 §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refresher {
    Uac,
    Uas,
}

impl Refresher {
    pub fn as_str(self) -> &'static str {
        match self {
            Refresher::Uac => "uac",
            Refresher::Uas => "uas",
        }
    }
}

/// A `Session-Expires` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionTimer {
    pub secs: u32,
    pub refresher: Option<Refresher>,
}

impl Fields {
    /// The fields of a parsed message, `None` when it has none of them. `register`: a REGISTER or a
    /// response to one (its Contacts are bindings).
    pub fn of(m: &sip::Message<'_>, register: bool) -> Option<Box<Fields>> {
        use sip::Name;
        let any = |names: &[Name]| names.iter().any(|&n| m.has(n));
        let auth = any(&[
            Name::Authorization,
            Name::ProxyAuthorization,
            Name::WwwAuthenticate,
            Name::ProxyAuthenticate,
        ]);
        let expiry = any(&[Name::Expires, Name::MinExpires]);
        let timer = any(&[Name::SessionExpires, Name::MinSe]);
        if !(auth || expiry || timer || register) {
            return None;
        }
        let owned = |s: Option<&str>| s.map(str::to_string);
        let mut f = Fields::default();
        if auth && m.is_request() {
            f.credentials = m.credentials().map(|a| Credentials {
                username: owned(a.username),
                realm: owned(a.realm),
            });
        } else if auth {
            f.challenge = m.challenge().map(|a| Challenge {
                realm: owned(a.realm),
                stale: a.stale,
            });
        }
        if expiry {
            f.expires = m.expires();
            f.min_expires = m.min_expires();
        }
        if timer {
            f.session_expires = m.session_expires().map(|se| SessionTimer {
                secs: se.secs,
                refresher: match se.refresher {
                    Some(r) if r.eq_ignore_ascii_case("uac") => Some(Refresher::Uac),
                    Some(r) if r.eq_ignore_ascii_case("uas") => Some(Refresher::Uas),
                    _ => None,
                },
            });
            f.min_se = m.min_se();
        }
        if register {
            f.bindings = m
                .contacts()
                .map(|c| Binding {
                    uri: c.uri.to_string(),
                    expires: sip::param(c.params, "expires")
                        .flatten()
                        .and_then(|e| e.trim().parse().ok()),
                })
                .collect();
        }
        Some(Box::new(f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(raw: &str, register: bool) -> Option<Box<Fields>> {
        let m = sip::parse(raw.as_bytes()).expect("a SIP message");
        Fields::of(&m, register)
    }

    #[test]
    fn a_message_without_these_headers_has_none() {
        let raw =
            "INVITE sip:a@b SIP/2.0\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContact: <sip:a@h>\r\n\r\n";
        assert_eq!(fields(raw, false), None);
    }

    #[test]
    fn a_register_response_lists_its_bindings_with_their_expiry() {
        let raw = "SIP/2.0 200 OK\r\nCSeq: 2 REGISTER\r\nContact: <sip:a@192.0.2.10:5062>;expires=60, <sip:a@10.0.0.1>;EXPIRES= 30\r\nContact: <sip:a@h>\r\n\r\n";
        let f = fields(raw, true).expect("fields");
        let got: Vec<_> = f
            .bindings
            .iter()
            .map(|b| (b.uri.as_str(), b.expires))
            .collect();
        assert_eq!(
            got,
            [
                ("sip:a@192.0.2.10:5062", Some(60)),
                ("sip:a@10.0.0.1", Some(30)),
                ("sip:a@h", None)
            ]
        );
    }

    #[test]
    fn challenges_credentials_and_timers() {
        let raw = "SIP/2.0 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"r\", nonce=\"n\", stale=true\r\n\r\n";
        let f = fields(raw, true).expect("fields");
        assert_eq!(
            f.challenge,
            Some(Challenge {
                realm: Some("r".into()),
                stale: true
            })
        );
        let raw = "REGISTER sip:r SIP/2.0\r\nAuthorization: Digest username=\"bob\", realm=\"r\"\r\nExpires: 0\r\n\r\n";
        let f = fields(raw, true).expect("fields");
        assert_eq!(
            (f.credentials.and_then(|c| c.username), f.expires),
            (Some("bob".into()), Some(0))
        );
        let raw =
            "INVITE sip:a@b SIP/2.0\r\nSession-Expires: 90;refresher=UAS\r\nMin-SE: 90\r\n\r\n";
        let f = fields(raw, false).expect("fields");
        assert_eq!(
            (f.session_expires, f.min_se),
            (
                Some(SessionTimer {
                    secs: 90,
                    refresher: Some(Refresher::Uas)
                }),
                Some(90)
            )
        );
    }
}
