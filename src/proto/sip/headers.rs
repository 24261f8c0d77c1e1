//! Typed values of the header fields callscope reads: CSeq, From/To/Contact, Via, Route, Reason, Warning,
//! ms-diagnostics, ms-client-diagnostics and its media debug lists, the authentication challenge and
//! credentials, Expires, Min-Expires, Session-Expires and Min-SE (RFC 3261 §20, RFC 3326, RFC 3581,
//! RFC 4028, RFC 7616, [MS-SIPRE], [MS-OCER]).
//!
//! Takes in: one header value (already unfolded by `super::message`), or a [`Message`] whose headers it reads.
//! Produces: borrowed views ([`CSeq`], [`NameAddr`], [`Via`], [`Reason`], [`Warning`], [`MsDiagnostic`],
//! [`MediaDebug`], [`Auth`], [`SessionExpires`]) and the
//! [`Message`] accessors that return them; a malformed value yields `None` (or is skipped in a list), never an
//! error, so one bad header does not hide the others.
//! Does not: unescape quoted-pairs or `%HH`, resolve hosts, or parse URIs (see `super::uri`).

use super::grammar::{self, param, params, parse_decimal, split_outside, trim_lws_str};
use super::message::Message;
use super::registry::{Method, Name};

/// `CSeq` (RFC 3261 §20.16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CSeq<'s> {
    pub seq: u32,
    pub method: Method<'s>,
}

/// `name-addr / addr-spec` with the header's parameters (From, To, Contact; RFC 3261 §20.10, §20.20, §20.39).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameAddr<'s> {
    /// Display name without quotes (quoted-pair escapes kept), `None` if absent or empty.
    pub display: Option<&'s str>,
    /// The URI, without angle brackets.
    pub uri: &'s str,
    /// The `tag` parameter.
    pub tag: Option<&'s str>,
    /// All header parameters after the URI, without the leading `;`.
    pub params: &'s str,
}

impl<'s> NameAddr<'s> {
    /// Parses one name-addr or addr-spec; `None` on an unterminated quote or `<` (RFC 4475 §3.1.2.6).
    pub fn parse(s: &'s str) -> Option<NameAddr<'s>> {
        let s = trim_lws_str(s);
        let (display, after_display) = if s.starts_with('"') {
            let (rest, d) = grammar::quoted_string(s).ok()?;
            (Some(d), trim_lws_str(rest))
        } else {
            match grammar::find_byte(s, b'<') {
                Some(lt) => (
                    Some(trim_lws_str(s.get(..lt).unwrap_or_default())),
                    s.get(lt..).unwrap_or_default(),
                ),
                None => (None, s),
            }
        };
        let (uri, params) = if let Some(inner) = after_display.strip_prefix('<') {
            let gt = grammar::find_byte(inner, b'>')?;
            let uri = trim_lws_str(inner.get(..gt).unwrap_or_default());
            (uri, inner.get(gt + 1..).unwrap_or_default())
        } else if display.is_some() {
            // A quoted display name must be followed by `<`.
            return None;
        } else {
            // addr-spec: parameters after `;` belong to the header, not the URI (RFC 3261 §20).
            match grammar::find_byte(after_display, b';') {
                Some(semi) => (
                    trim_lws_str(after_display.get(..semi).unwrap_or_default()),
                    after_display.get(semi..).unwrap_or_default(),
                ),
                None => (after_display, ""),
            }
        };
        let params = trim_lws_str(params);
        let params = params.strip_prefix(';').unwrap_or(params);
        Some(NameAddr {
            display: display.filter(|d| !d.is_empty()),
            uri,
            tag: param(params, "tag").flatten(),
            params,
        })
    }
}

/// One Via value (RFC 3261 §20.42).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Via<'s> {
    /// Transport token as sent (`UDP`, `TCP`, `TLS`, `SCTP`, `WS`, ...).
    pub transport: &'s str,
    /// Host of sent-by, IPv6 without brackets.
    pub host: &'s str,
    pub port: Option<u16>,
    pub branch: Option<&'s str>,
    pub received: Option<&'s str>,
    /// RFC 3581: `None` absent, `Some(None)` bare `rport`, `Some(Some(p))` filled in.
    pub rport: Option<Option<u16>>,
    /// All parameters, without the leading `;`.
    pub params: &'s str,
}

impl<'s> Via<'s> {
    /// Parses one comma-separated Via value; `None` if sent-protocol or sent-by is malformed.
    pub fn parse(s: &'s str) -> Option<Via<'s>> {
        let (rest, (_name, _version, transport)) = grammar::sent_protocol(s).ok()?;
        let (rest, _) = grammar::lws(rest).ok()?;
        let (rest, (host, port)) = grammar::host_port(rest).ok()?;
        let port = match port {
            Some(p) => Some(p.parse::<u16>().ok()?),
            None => None,
        };
        let rest = trim_lws_str(rest);
        let params = rest.strip_prefix(';').unwrap_or(rest);
        let mut via = Via {
            transport,
            host,
            port,
            branch: None,
            received: None,
            rport: None,
            params,
        };
        // One pass over the parameters: every message has a Via, and most have several parameters.
        for (name, value) in grammar::params(params) {
            if via.branch.is_none() && name.eq_ignore_ascii_case("branch") {
                via.branch = value;
            } else if via.received.is_none() && name.eq_ignore_ascii_case("received") {
                via.received = value;
            } else if via.rport.is_none() && name.eq_ignore_ascii_case("rport") {
                via.rport = Some(value.and_then(|p| p.parse().ok()));
            }
        }
        Some(via)
    }
}

/// One Reason value (RFC 3326).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reason<'s> {
    /// `SIP`, `Q.850` or any other protocol token as sent.
    pub protocol: &'s str,
    pub cause: Option<u16>,
    pub text: Option<&'s str>,
}

/// One Warning value (RFC 3261 §20.43).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Warning<'s> {
    pub code: u16,
    pub agent: &'s str,
    /// The warn-text without quotes.
    pub text: &'s str,
}

/// One `ms-diagnostics` / `ms-diagnostics-public` value (Lync / Skype for Business, see metrics.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsDiagnostic<'s> {
    pub error_id: u32,
    /// The part after the dot of `1008.5`.
    pub sub_code: Option<u32>,
    pub source: Option<&'s str>,
    pub reason: Option<&'s str>,
    /// All other `name="value"` attributes in order, values unquoted.
    pub attrs: Vec<(&'s str, &'s str)>,
}

impl<'s> MsDiagnostic<'s> {
    /// Parses `<ErrorId>[.<Sub>];reason="...";source="..."[;attr="..."]*`.
    pub fn parse(s: &'s str) -> Option<MsDiagnostic<'s>> {
        let mut parts = params(s);
        let (id, _) = parts.next()?;
        let id = trim_lws_str(id);
        let (id, sub) = match id.split_once('.') {
            Some((a, b)) => (a, Some(b.parse::<u32>().ok()?)),
            None => (id, None),
        };
        let mut diag = MsDiagnostic {
            error_id: id.parse().ok()?,
            sub_code: sub,
            source: None,
            reason: None,
            attrs: Vec::new(),
        };
        for (name, value) in parts {
            let value = value.unwrap_or("");
            if name.eq_ignore_ascii_case("source") {
                diag.source = Some(value);
            } else if name.eq_ignore_ascii_case("reason") {
                diag.reason = Some(value);
            } else if diag.attrs.len() < 64 {
                diag.attrs.push((name, value));
            }
        }
        Some(diag)
    }
}

/// An authentication challenge (`WWW-Authenticate`, `Proxy-Authenticate`) or credentials (`Authorization`,
/// `Proxy-Authorization`): the scheme and the parameters a diagnosis reads (RFC 3261 §22.4, RFC 7616 §3.3–3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Auth<'s> {
    /// `Digest` (or another scheme), as sent.
    pub scheme: &'s str,
    pub realm: Option<&'s str>,
    /// The user the credentials are for (credentials only).
    pub username: Option<&'s str>,
    /// `stale=true` in a challenge: the nonce was old, the credentials were right (RFC 7616 §3.3).
    pub stale: bool,
}

impl<'s> Auth<'s> {
    /// Parses `scheme param *("," param)`; `None` without a scheme token.
    pub fn parse(s: &'s str) -> Option<Auth<'s>> {
        let s = trim_lws_str(s);
        let (scheme, rest) = s.split_once([' ', '\t']).unwrap_or((s, ""));
        if scheme.is_empty() || !scheme.bytes().all(grammar::is_token_char) {
            return None;
        }
        let mut auth = Auth {
            scheme,
            realm: None,
            username: None,
            stale: false,
        };
        for p in split_outside(rest, b',') {
            let Some((name, value)) = p.split_once('=') else {
                continue;
            };
            let name = trim_lws_str(name);
            let value = trim_lws_str(value);
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            if name.eq_ignore_ascii_case("realm") {
                auth.realm = Some(value);
            } else if name.eq_ignore_ascii_case("username") {
                auth.username = Some(value);
            } else if name.eq_ignore_ascii_case("stale") {
                auth.stale = value.eq_ignore_ascii_case("true");
            }
        }
        Some(auth)
    }
}

/// `Session-Expires` (RFC 4028 §4): the session interval and which side refreshes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionExpires<'s> {
    pub secs: u32,
    /// `uac` or `uas`, as sent; `None` when the parameter is absent.
    pub refresher: Option<&'s str>,
}

/// `delta-seconds` (RFC 3261 §25.1) as a `u32`; larger values are kept as `u32::MAX`.
fn delta_seconds(s: &str) -> Option<u32> {
    let v = parse_decimal(trim_lws_str(s).as_bytes())?;
    Some(u32::try_from(v).unwrap_or(u32::MAX))
}

/// One media section of an ms-client-diagnostics `CallerMediaDebug` / `CalleeMediaDebug` value:
/// `audio:ICEWarn=0x320,LocalSite=10.0.0.1:50000,...` (the Lync/Skype for Business client's report
/// of its ICE connectivity checks, as Microsoft's support articles show it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDebug<'s> {
    /// `audio`, `video`, `application-sharing`, ... (before the first `:`), if named.
    pub media: Option<&'s str>,
    /// The `key=value` fields in order, empty items skipped; at most 64.
    pub fields: Vec<(&'s str, &'s str)>,
}

impl<'s> MediaDebug<'s> {
    /// Parses a value into its media sections; an item `name:key=value` starts a new section.
    pub fn parse_all(value: &'s str) -> Vec<MediaDebug<'s>> {
        let mut out: Vec<MediaDebug<'s>> = Vec::new();
        for item in value.split(',').map(trim_lws_str).filter(|i| !i.is_empty()) {
            let (media, field) = match (item.find(':'), item.find('=')) {
                (Some(colon), Some(eq))
                    if colon < eq
                        && item[..colon]
                            .bytes()
                            .all(|b| b.is_ascii_alphabetic() || b == b'-') =>
                {
                    (Some(&item[..colon]), &item[colon + 1..])
                }
                _ => (None, item),
            };
            if media.is_some() || out.is_empty() {
                if out.len() >= 8 {
                    break;
                }
                out.push(MediaDebug {
                    media,
                    fields: Vec::new(),
                });
            }
            if let (Some(last), Some((k, v))) = (out.last_mut(), field.split_once('=')) {
                if last.fields.len() < 64 {
                    last.fields.push((trim_lws_str(k), trim_lws_str(v)));
                }
            }
        }
        out
    }
}

impl Message<'_> {
    /// The first challenge: `WWW-Authenticate` (401), else `Proxy-Authenticate` (407).
    pub fn challenge(&self) -> Option<Auth<'_>> {
        self.value(Name::WwwAuthenticate)
            .or_else(|| self.value(Name::ProxyAuthenticate))
            .and_then(Auth::parse)
    }

    /// The first credentials: `Authorization`, else `Proxy-Authorization`.
    pub fn credentials(&self) -> Option<Auth<'_>> {
        self.value(Name::Authorization)
            .or_else(|| self.value(Name::ProxyAuthorization))
            .and_then(Auth::parse)
    }

    /// `Expires` in seconds (RFC 3261 §20.19); `None` if absent or not delta-seconds (a date, RFC 2543).
    pub fn expires(&self) -> Option<u32> {
        delta_seconds(self.value(Name::Expires)?)
    }

    /// `Min-Expires` in seconds (RFC 3261 §20.23, with 423 Interval Too Brief).
    pub fn min_expires(&self) -> Option<u32> {
        delta_seconds(self.value(Name::MinExpires)?)
    }

    /// `Session-Expires` (compact form `x`); `None` if absent or malformed.
    pub fn session_expires(&self) -> Option<SessionExpires<'_>> {
        let v = self.value(Name::SessionExpires)?;
        let (secs, params) = v.split_once(';').unwrap_or((v, ""));
        Some(SessionExpires {
            secs: delta_seconds(secs)?,
            refresher: param(params, "refresher").flatten(),
        })
    }

    /// `Min-SE` in seconds (RFC 4028 §5).
    pub fn min_se(&self) -> Option<u32> {
        let v = self.value(Name::MinSe)?;
        delta_seconds(v.split_once(';').map_or(v, |(secs, _)| secs))
    }

    /// The first CSeq; `None` if absent or malformed (sequence number over 2^32 - 1, RFC 4475 §3.1.2.4).
    pub fn cseq(&self) -> Option<CSeq<'_>> {
        let (rest, (seq, method)) = grammar::cseq(self.value(Name::CSeq)?).ok()?;
        if !rest.is_empty() {
            return None;
        }
        Some(CSeq {
            seq: seq.parse().ok()?,
            method: Method::from_token(method),
        })
    }

    pub fn from(&self) -> Option<NameAddr<'_>> {
        NameAddr::parse(self.value(Name::From)?)
    }

    pub fn to(&self) -> Option<NameAddr<'_>> {
        NameAddr::parse(self.value(Name::To)?)
    }

    /// The first Contact value (`*` is returned as a URI `*`).
    pub fn contact(&self) -> Option<NameAddr<'_>> {
        self.contacts().next()
    }

    /// All Contact values, in order; malformed ones skipped.
    pub fn contacts(&self) -> impl Iterator<Item = NameAddr<'_>> + '_ {
        self.values(Name::Contact).filter_map(NameAddr::parse)
    }

    /// Every Via value in order (top first); malformed values are skipped.
    pub fn vias(&self) -> impl Iterator<Item = Via<'_>> + '_ {
        self.values(Name::Via).filter_map(Via::parse)
    }

    /// The topmost Via value; `None` if it is absent or malformed (never a lower one).
    pub fn top_via(&self) -> Option<Via<'_>> {
        Via::parse(self.values(Name::Via).next()?)
    }

    /// Record-Route URIs in order, across headers.
    pub fn record_route(&self) -> Vec<&str> {
        self.route_list(Name::RecordRoute)
    }

    /// Route URIs in order, across headers.
    pub fn route(&self) -> Vec<&str> {
        self.route_list(Name::Route)
    }

    fn route_list(&self, name: Name) -> Vec<&str> {
        self.values(name)
            .filter_map(NameAddr::parse)
            .map(|na| na.uri)
            .collect()
    }

    /// All Reason values (RFC 3326), in order; values without a protocol token are skipped.
    pub fn reasons(&self) -> Vec<Reason<'_>> {
        self.values(Name::Reason)
            .filter_map(|v| {
                let (protocol, rest) = v.split_once(';').unwrap_or((v, ""));
                let protocol = trim_lws_str(protocol);
                if protocol.is_empty() {
                    return None;
                }
                Some(Reason {
                    protocol,
                    cause: param(rest, "cause").flatten().and_then(|c| c.parse().ok()),
                    text: param(rest, "text").flatten(),
                })
            })
            .collect()
    }

    /// All Warning values (RFC 3261 §20.43), in order; malformed ones skipped.
    pub fn warnings(&self) -> Vec<Warning<'_>> {
        self.values(Name::Warning)
            .filter_map(|v| {
                let (code, rest) = v.split_once(' ')?;
                if code.len() != 3 {
                    return None;
                }
                let code = code.parse().ok()?;
                let rest = trim_lws_str(rest);
                let (agent, text) = rest.split_once([' ', '\t']).unwrap_or((rest, ""));
                let text = match grammar::quoted_string(text) {
                    Ok((_, t)) => t,
                    Err(_) => trim_lws_str(text),
                };
                Some(Warning { code, agent, text })
            })
            .collect()
    }

    /// All `ms-diagnostics` values.
    pub fn ms_diagnostics(&self) -> Vec<MsDiagnostic<'_>> {
        self.values(Name::MsDiagnostics)
            .filter_map(MsDiagnostic::parse)
            .collect()
    }

    /// All `ms-diagnostics-public` values.
    pub fn ms_diagnostics_public(&self) -> Vec<MsDiagnostic<'_>> {
        self.values(Name::MsDiagnosticsPublic)
            .filter_map(MsDiagnostic::parse)
            .collect()
    }

    /// All `ms-client-diagnostics` values (a Lync/Skype for Business client's own report, in the
    /// same `<ErrorId>;reason="...";attr="..."` form, on requests such as BYE as well as responses).
    pub fn ms_client_diagnostics(&self) -> Vec<MsDiagnostic<'_>> {
        self.values(Name::MsClientDiagnostics)
            .filter_map(MsDiagnostic::parse)
            .collect()
    }
}
