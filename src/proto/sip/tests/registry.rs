//! Tests of the registries: status code classes and reason phrases, methods.

use super::*;

#[test]
fn status_code_classes() {
    assert!(StatusCode(183).is_provisional() && !StatusCode(183).is_final());
    assert!(StatusCode(200).is_success() && StatusCode(200).is_final());
    assert!(StatusCode(302).is_redirect() && !StatusCode(302).is_failure());
    assert!(StatusCode(486).is_failure() && StatusCode(603).is_failure());
    assert_eq!(StatusCode(487).class(), 4);
    assert_eq!(StatusCode::BUSY_HERE.canonical_reason(), Some("Busy Here"));
    assert_eq!(StatusCode(299).canonical_reason(), None);
}

#[test]
fn method_round_trip() {
    for m in [
        "INVITE",
        "ACK",
        "BYE",
        "CANCEL",
        "REGISTER",
        "OPTIONS",
        "INFO",
        "UPDATE",
        "PRACK",
        "SUBSCRIBE",
        "NOTIFY",
        "REFER",
        "MESSAGE",
        "PUBLISH",
        "FOO",
    ] {
        assert_eq!(Method::from_token(m).as_str(), m);
    }
    assert_eq!(Method::from_token("invite"), Method::Other("invite"));
}
