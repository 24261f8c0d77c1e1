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

/// (provisional, final, success, redirect, failure, class) of one code.
fn classes(code: u16) -> (bool, bool, bool, bool, bool, u16) {
    let s = StatusCode(code);
    (
        s.is_provisional(),
        s.is_final(),
        s.is_success(),
        s.is_redirect(),
        s.is_failure(),
        s.class(),
    )
}

#[test]
fn status_code_class_boundaries() {
    const F: bool = false;
    const T: bool = true;
    assert_eq!(classes(100), (T, F, F, F, F, 1));
    assert_eq!(classes(199), (T, F, F, F, F, 1));
    assert_eq!(classes(200), (F, T, T, F, F, 2));
    assert_eq!(classes(299), (F, T, T, F, F, 2));
    assert_eq!(classes(300), (F, T, F, T, F, 3));
    assert_eq!(classes(399), (F, T, F, T, F, 3));
    assert_eq!(classes(400), (F, T, F, F, T, 4));
    assert_eq!(classes(499), (F, T, F, F, T, 4));
    assert_eq!(classes(500), (F, T, F, F, T, 5));
    assert_eq!(classes(600), (F, T, F, F, T, 6));
    assert_eq!(classes(699), (F, T, F, F, T, 6));
}

#[test]
fn status_code_hand_built_outside_the_parsed_range() {
    // `parse` only yields 100..=699; codes built by hand outside it keep the documented rules.
    assert_eq!(classes(0), (false, false, false, false, false, 0));
    assert_eq!(classes(99), (false, false, false, false, false, 0));
    assert_eq!(classes(700), (false, true, false, false, true, 7));
    assert_eq!(
        classes(u16::MAX),
        (false, true, false, false, true, u16::MAX / 100)
    );
}

#[test]
fn every_parsed_status_code_is_in_exactly_one_class() {
    for code in 100..=699 {
        let (provisional, fin, success, redirect, failure, class) = classes(code);
        let kinds = [provisional, success, redirect, failure];
        assert_eq!(kinds.iter().filter(|&&k| k).count(), 1, "{code}");
        assert_eq!(fin, !provisional, "{code}");
        assert_eq!(failure, (4..=6).contains(&class), "{code}");
        let line = format!("SIP/2.0 {code} X\r\n\r\n");
        assert_eq!(
            parse(line.as_bytes()).ok().and_then(|m| m.status()),
            Some(StatusCode(code))
        );
    }
}

#[test]
fn status_code_is_a_copy_ordered_hashable_number() {
    fn model_ready<T: Copy + Ord + std::hash::Hash + std::fmt::Debug + std::fmt::Display>() {}
    model_ready::<StatusCode>();
    assert!(StatusCode::RINGING < StatusCode::OK && StatusCode::OK < StatusCode(300));
    assert_eq!(StatusCode::BUSY_HERE.0, 486);
    assert_eq!(StatusCode::BUSY_HERE.to_string(), "486");
    let set: std::collections::HashSet<StatusCode> =
        [StatusCode(486), StatusCode(486), StatusCode(200)].into();
    assert_eq!(set.len(), 2);
}

#[test]
fn header_names_are_recognised_in_any_case_and_nothing_else_is() {
    let spelled = [
        "To",
        "Via",
        "From",
        "CSeq",
        "Route",
        "Server",
        "Reason",
        "Min-SE",
        "Call-ID",
        "Contact",
        "Warning",
        "Expires",
        "User-Agent",
        "Min-Expires",
        "Content-Type",
        "Max-Forwards",
        "Record-Route",
        "Authorization",
        "Content-Length",
        "ms-diagnostics",
        "Session-Expires",
        "WWW-Authenticate",
        "Proxy-Authenticate",
        "P-Asserted-Identity",
        "Proxy-Authorization",
        "ms-diagnostics-public",
        "ms-client-diagnostics",
    ];
    let mut bits = 0u32;
    for s in spelled {
        let name = Name::of(s).unwrap_or_else(|| panic!("{s} is known"));
        assert_eq!(name.as_str(), s);
        assert_eq!(Name::of(&s.to_ascii_uppercase()), Some(name));
        assert_eq!(Name::of(&s.to_ascii_lowercase()), Some(name));
        assert_eq!(bits & name.bit(), 0, "{s} has a bit of its own");
        bits |= name.bit();
    }
    for other in [
        "",
        "T",
        "Tо",
        "Vias",
        "Call-Id-",
        "Supported",
        "X-Call-ID",
        "i",
    ] {
        assert_eq!(Name::of(other), None, "{other}");
    }
}
