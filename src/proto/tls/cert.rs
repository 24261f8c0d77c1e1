//! X.509 certificates of a TLS Certificate message, summarised (RFC 5280): who they name, who issued
//! them, when they are valid and what they may be used for.
//!
//! Takes in: one DER certificate (untrusted bytes). Produces: an owned [`Summary`] with the fields a
//! certificate diagnosis cites (subject, SAN, issuer, validity, key usage, extended key usage,
//! self-issued, CA); strings are cut to [`MAX_TEXT`] characters and SAN lists to [`MAX_NAMES`].
//! Does not: verify signatures or build paths to a trust store (callscope has none: it judges the chain
//! that was sent).
//! Parsing is `x509-parser`'s; a certificate it rejects is `None`.

use std::net::IpAddr;

use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// Characters kept of a name.
pub const MAX_TEXT: usize = 256;
/// Subject alternative names kept per certificate.
pub const MAX_NAMES: usize = 32;

/// What a certificate says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Subject distinguished name, RFC 4514 style (`CN=app1.lab.example, O=Lab`).
    pub subject: String,
    /// The subject's (last) common name.
    pub common_name: Option<String>,
    pub issuer: String,
    /// Serial number, hex with colons.
    pub serial: String,
    /// Validity, seconds since the Unix epoch.
    pub not_before: i64,
    pub not_after: i64,
    /// DNS names of the subjectAltName extension.
    pub dns_names: Vec<String>,
    /// IP addresses of the subjectAltName extension.
    pub ip_addresses: Vec<IpAddr>,
    /// Extended key usage, when the extension is present.
    pub eku: Option<Eku>,
    /// keyUsage allows digitalSignature / keyEncipherment, when the extension is present.
    pub key_usage: Option<KeyUsage>,
    /// Subject equals issuer (self-issued; for a leaf: self-signed).
    pub self_issued: bool,
    /// basicConstraints cA.
    pub is_ca: bool,
}

/// Extended key usages a TLS peer checks (RFC 5280 §4.2.1.12).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Eku {
    pub server_auth: bool,
    pub client_auth: bool,
    pub any: bool,
}

/// Key usages a TLS peer checks (RFC 5280 §4.2.1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyUsage {
    pub digital_signature: bool,
    pub key_encipherment: bool,
    pub key_cert_sign: bool,
}

fn cut(s: String) -> String {
    if s.chars().count() <= MAX_TEXT {
        return s;
    }
    s.chars().take(MAX_TEXT).collect()
}

impl Summary {
    /// Reads one DER certificate.
    pub fn parse(der: &[u8]) -> Option<Summary> {
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        let subject = cert.subject();
        let common_name = subject
            .iter_common_name()
            .last()
            .and_then(|cn| cn.as_str().ok())
            .map(|s| cut(s.to_string()));
        let mut dns_names = Vec::new();
        let mut ip_addresses = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                if dns_names.len() + ip_addresses.len() >= MAX_NAMES {
                    break;
                }
                match name {
                    GeneralName::DNSName(n) => dns_names.push(cut(n.to_string())),
                    GeneralName::IPAddress(b) => {
                        if let Ok(v4) = <[u8; 4]>::try_from(*b) {
                            ip_addresses.push(IpAddr::from(v4));
                        } else if let Ok(v6) = <[u8; 16]>::try_from(*b) {
                            ip_addresses.push(IpAddr::from(v6));
                        }
                    }
                    _ => {}
                }
            }
        }
        let eku = cert.extended_key_usage().ok().flatten().map(|e| Eku {
            server_auth: e.value.server_auth,
            client_auth: e.value.client_auth,
            any: e.value.any,
        });
        let key_usage = cert.key_usage().ok().flatten().map(|k| KeyUsage {
            digital_signature: k.value.digital_signature(),
            key_encipherment: k.value.key_encipherment(),
            key_cert_sign: k.value.key_cert_sign(),
        });
        let validity = cert.validity();
        Some(Summary {
            subject: cut(subject.to_string()),
            common_name,
            issuer: cut(cert.issuer().to_string()),
            serial: cut(cert.raw_serial_as_string()),
            not_before: validity.not_before.timestamp(),
            not_after: validity.not_after.timestamp(),
            dns_names,
            ip_addresses,
            eku,
            key_usage,
            self_issued: cert.subject().as_raw() == cert.issuer().as_raw(),
            is_ca: cert.is_ca(),
        })
    }

    /// Whether the certificate names `host` (a DNS name, matched case-insensitively with a wildcard
    /// allowed only as the whole leftmost label, RFC 6125 §6.4.3; or an IP address). The common name
    /// counts only when there is no subjectAltName DNS or IP entry (RFC 6125 §6.4.4).
    pub fn names(&self, host: &str) -> bool {
        if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
            return self.ip_addresses.contains(&ip);
        }
        let host = host.trim_end_matches('.');
        let matches = |pattern: &str| {
            let pattern = pattern.trim_end_matches('.');
            if let Some(suffix) = pattern.strip_prefix("*.") {
                host.split_once('.').is_some_and(|(label, rest)| {
                    !label.is_empty() && rest.eq_ignore_ascii_case(suffix)
                })
            } else {
                pattern.eq_ignore_ascii_case(host)
            }
        };
        if self.dns_names.is_empty() && self.ip_addresses.is_empty() {
            return self.common_name.as_deref().is_some_and(matches);
        }
        self.dns_names.iter().any(|n| matches(n))
    }

    /// The names it is valid for, for a message: the SAN entries, else the common name.
    pub fn name_list(&self) -> String {
        let mut names: Vec<String> = self.dns_names.clone();
        names.extend(self.ip_addresses.iter().map(IpAddr::to_string));
        if names.is_empty() {
            names.extend(self.common_name.clone());
        }
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(dns: &[&str], cn: Option<&str>) -> Summary {
        Summary {
            subject: String::new(),
            common_name: cn.map(str::to_string),
            issuer: String::new(),
            serial: String::new(),
            not_before: 0,
            not_after: 0,
            dns_names: dns.iter().map(|s| s.to_string()).collect(),
            ip_addresses: vec!["192.0.2.31".parse().expect("ip")],
            eku: None,
            key_usage: None,
            self_issued: false,
            is_ca: false,
        }
    }

    #[test]
    fn name_matching_follows_rfc_6125() {
        let s = summary(
            &["app1.lab.example", "*.pool.example"],
            Some("ignored.example"),
        );
        assert!(s.names("APP1.lab.example"));
        assert!(s.names("a.pool.example"));
        assert!(!s.names("a.b.pool.example"));
        assert!(!s.names("pool.example"));
        assert!(!s.names("ignored.example"));
        assert!(s.names("192.0.2.31"));
        assert!(!s.names("192.0.2.32"));
        let mut cn_only = summary(&[], Some("sbc.example"));
        cn_only.ip_addresses.clear();
        assert!(cn_only.names("sbc.example"));
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert_eq!(Summary::parse(b""), None);
        assert_eq!(Summary::parse(&[0x30, 0x82, 0xff, 0xff, 1, 2]), None);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_der_never_panics(buf in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let _ = Summary::parse(&buf);
        }
    }
}
