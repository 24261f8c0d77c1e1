//! UDPTL packets and the T.38 IFP packets they carry (ITU-T T.38 §9.1 and Annex A; the ASN.1 is
//! encoded with aligned PER, ITU-T X.691).
//!
//! Takes in: the payload of one UDP datagram, as untrusted bytes.
//! Produces: [`Packet`], a view borrowing those bytes: the sequence number, the primary IFP packet
//! ([`Ifp`]: an indicator such as CED or a V.21 preamble, or data at a modulation such as V.17
//! 14 400 bit/s, with its fields), and the error recovery — the secondary IFP packets repeated from
//! earlier packets (redundancy) or forward error correction data.
//! Does not: reassemble HDLC frames or T.4 image data, decode T.30, or know about streams and time
//! (that is `correlate::fax`). T.38 over RTP is not UDPTL.
//!
//! A UDPTL packet has no magic number: [`Packet::parse`] accepts bytes only when every length in them
//! is consistent and they end exactly where the last element does, every IFP is well formed, and the
//! PER padding bits are zero. That still lets a few RTP packets in a million through, so callers use
//! it where an SDP announced UDPTL (`m=image <port> udptl t38`), not to classify traffic alone.
//! The data-field's field-type is read as the T.38 syntax before its corrigendum has it (three
//! bits, no extension marker), as Wireshark does by default; its length and contents are the same
//! in both syntaxes.
//!
//! No-panic contract: parsing checks every length before reading; the iterators of a parsed packet
//! re-read what parsing validated and stop at the first inconsistency. Nothing here allocates.

use nom::bytes::complete::take;
use nom::number::complete::{be_u16, be_u8};
use nom::IResult;
use thiserror::Error;

/// Why bytes are not a well-formed UDPTL packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Error {
    /// The bytes end before an element that a length announced.
    #[error("udptl {0} truncated")]
    Truncated(&'static str),
    /// A length determinant in the fragmented form (16 K units), which no datagram needs.
    #[error("udptl fragmented length in the {0}")]
    Fragmented(&'static str),
    /// The error-recovery choice is neither redundancy nor FEC (or its padding bits are set).
    #[error("udptl error-recovery choice byte {0:#04x}")]
    Recovery(u8),
    /// An IFP packet's first octet is not a valid type-of-msg (or its padding bits are set).
    #[error("t.38 ifp type-of-msg octet {0:#04x}")]
    MessageType(u8),
    /// Bytes left over after an element that should have ended the buffer.
    #[error("udptl {0} followed by {1} stray bytes")]
    Trailing(&'static str, usize),
}

type Res<'a, T> = IResult<&'a [u8], T>;

/// An aligned PER length determinant (X.691 §11.9.3.6): one octet below 128, two up to 16 383.
fn length<'a>(what: &'static str) -> impl Fn(&'a [u8]) -> Result<(&'a [u8], usize), Error> {
    move |i| {
        let (i, first): (&[u8], u8) = be_u8::<_, nom::error::Error<&[u8]>>(i)
            .map_err(|_: nom::Err<_>| Error::Truncated(what))?;
        match first {
            0..=0x7f => Ok((i, usize::from(first))),
            0x80..=0xbf => {
                let (i, second): (&[u8], u8) = be_u8::<_, nom::error::Error<&[u8]>>(i)
                    .map_err(|_: nom::Err<_>| Error::Truncated(what))?;
                Ok((i, usize::from(first & 0x3f) << 8 | usize::from(second)))
            }
            _ => Err(Error::Fragmented(what)),
        }
    }
}

/// `n` bytes, or which element they should have been.
fn bytes<'a>(i: &'a [u8], n: usize, what: &'static str) -> Result<(&'a [u8], &'a [u8]), Error> {
    let r: Res<'a, &'a [u8]> = take(n)(i);
    r.map_err(|_| Error::Truncated(what))
}

/// An open type (X.691 §10.2): a length determinant, then that many octets.
fn open_type<'a>(i: &'a [u8], what: &'static str) -> Result<(&'a [u8], &'a [u8]), Error> {
    let (i, n) = length(what)(i)?;
    bytes(i, n, what)
}

/// A T.30 indicator (T.38 Annex A `Type-of-msg.t30-indicator`): the signal a gateway announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Indicator(pub u8);

impl Indicator {
    pub const CNG: Indicator = Indicator(1);
    pub const CED: Indicator = Indicator(2);
    pub const V21_PREAMBLE: Indicator = Indicator(3);

    /// The ASN.1 name (`cng`, `v21-preamble`, `v17-14400-long-training`, ...), `None` if unknown.
    pub fn name(self) -> Option<&'static str> {
        const NAMES: [&str; 23] = [
            "no-signal",
            "cng",
            "ced",
            "v21-preamble",
            "v27-2400-training",
            "v27-4800-training",
            "v29-7200-training",
            "v29-9600-training",
            "v17-7200-short-training",
            "v17-7200-long-training",
            "v17-9600-short-training",
            "v17-9600-long-training",
            "v17-12000-short-training",
            "v17-12000-long-training",
            "v17-14400-short-training",
            "v17-14400-long-training",
            "v8-ansam",
            "v8-signal",
            "v34-cntl-channel-1200",
            "v34-pri-channel",
            "v34-CC-retrain",
            "v33-12000-training",
            "v33-14400-training",
        ];
        NAMES.get(usize::from(self.0)).copied()
    }
}

/// The modulation of T.30 data (T.38 Annex A `Type-of-msg.t30-data`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Modulation(pub u8);

impl Modulation {
    pub const V21: Modulation = Modulation(0);

    /// The ASN.1 name (`v21`, `v17-14400`, ...), `None` if unknown.
    pub fn name(self) -> Option<&'static str> {
        const NAMES: [&str; 15] = [
            "v21",
            "v27-2400",
            "v27-4800",
            "v29-7200",
            "v29-9600",
            "v17-7200",
            "v17-9600",
            "v17-12000",
            "v17-14400",
            "v8",
            "v34-pri-rate",
            "v34-CC-1200",
            "v34-pri-ch",
            "v33-12000",
            "v33-14400",
        ];
        NAMES.get(usize::from(self.0)).copied()
    }
}

/// What an IFP packet carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Message {
    Indicator(Indicator),
    Data(Modulation),
}

/// Values in the root of the two enumerations (before their extension markers).
const INDICATORS: u8 = 16;
const MODULATIONS: u8 = 9;

/// One field of an IFP data packet (`Data-Field` element).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    /// The field-type (0 `hdlc-data`, 4 `hdlc-fcs-OK-sig-end`, 6 `t4-non-ecm-data`, ...).
    pub kind: u8,
    /// Its field-data, empty when absent.
    pub data: &'a [u8],
}

/// One field: presence bit and field-type in the first octet, then the data (SIZE 1..65535, so the
/// length less one in two octets).
fn field(i: &[u8]) -> Result<(&[u8], Field<'_>), Error> {
    let (i, head) = bytes(i, 1, "ifp field")?;
    let head = head.first().copied().unwrap_or(0);
    if head & 0x0f != 0 {
        return Err(Error::MessageType(head));
    }
    let kind = (head >> 4) & 0x07;
    if head & 0x80 == 0 {
        return Ok((i, Field { kind, data: &[] }));
    }
    let r: Res<'_, u16> = be_u16(i);
    let (i, len) = r.map_err(|_| Error::Truncated("ifp field-data length"))?;
    let (i, data) = bytes(i, usize::from(len) + 1, "ifp field-data")?;
    Ok((i, Field { kind, data }))
}

/// An IFP packet (T.38 Annex A `IFPPacket`), validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ifp<'a> {
    pub message: Message,
    field_count: usize,
    /// The data-field's elements, after their count.
    fields: &'a [u8],
}

impl<'a> Ifp<'a> {
    /// Parses one whole IFP packet (an open type's contents).
    pub fn parse(buf: &'a [u8]) -> Result<Ifp<'a>, Error> {
        let (rest, head) = bytes(buf, 1, "ifp")?;
        let b = head.first().copied().unwrap_or(0);
        let has_fields = b & 0x80 != 0;
        let data = b & 0x40 != 0;
        let (rest, value) = if b & 0x20 == 0 {
            // The root: 4 bits of value and one padding bit.
            let v = (b >> 1) & 0x0f;
            if b & 0x01 != 0 || (data && v >= MODULATIONS) {
                return Err(Error::MessageType(b));
            }
            (rest, v)
        } else {
            // An extension value: a normally small number, 0 then 6 bits across two octets.
            let (rest, next) = bytes(rest, 1, "ifp extension")?;
            let next = next.first().copied().unwrap_or(0);
            if b & 0x10 != 0 || next & 0x3f != 0 {
                return Err(Error::MessageType(b));
            }
            let root = if data { MODULATIONS } else { INDICATORS };
            (rest, root + ((b & 0x0f) << 2 | next >> 6))
        };
        let message = if data {
            Message::Data(Modulation(value))
        } else {
            Message::Indicator(Indicator(value))
        };
        let (field_count, fields) = if has_fields {
            let (rest, n) = length("ifp data-field")(rest)?;
            let mut i = rest;
            for _ in 0..n {
                i = field(i)?.0;
            }
            if !i.is_empty() {
                return Err(Error::Trailing("ifp", i.len()));
            }
            (n, rest)
        } else {
            if !rest.is_empty() {
                return Err(Error::Trailing("ifp", rest.len()));
            }
            (0, rest)
        };
        Ok(Ifp {
            message,
            field_count,
            fields,
        })
    }

    /// The fields of a data packet, in order.
    pub fn fields(&self) -> impl Iterator<Item = Field<'a>> + 'a {
        let mut rest = self.fields;
        (0..self.field_count).map_while(move |_| {
            let (i, f) = field(rest).ok()?;
            rest = i;
            Some(f)
        })
    }
}

/// How a packet protects against loss (T.38 §9.1 `error-recovery`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery<'a> {
    /// The primary IFPs of the previous packets, most recent first.
    Redundancy(Secondaries<'a>),
    /// Forward error correction over `span` packets, with `entries` FEC octet strings.
    Fec { span: u32, entries: usize },
}

/// The secondary IFP packets of a packet with redundancy, most recent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Secondaries<'a> {
    count: usize,
    rest: &'a [u8],
}

impl<'a> Secondaries<'a> {
    /// How many the packet carries.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

impl<'a> Iterator for Secondaries<'a> {
    type Item = Ifp<'a>;

    fn next(&mut self) -> Option<Ifp<'a>> {
        if self.count == 0 {
            return None;
        }
        let (rest, ifp) = open_type(self.rest, "secondary ifp").ok()?;
        self.rest = rest;
        self.count -= 1;
        Ifp::parse(ifp).ok()
    }
}

/// A UDPTL packet (T.38 Annex A `UDPTLPacket`), validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    seq: u16,
    primary: Ifp<'a>,
    recovery: Recovery<'a>,
}

impl<'a> Packet<'a> {
    /// Parses a whole UDP payload as one UDPTL packet; see the module doc for how strict it is.
    pub fn parse(buf: &'a [u8]) -> Result<Packet<'a>, Error> {
        // Every RTP packet is read here as well, in case it is T.38, and nearly all fail on the
        // error-recovery choice. When the primary IFP has a one-octet length, the choice lies at a
        // known place: read by hand first, it fails them in a few instructions, with the error the
        // element-by-element reading below would give.
        if let Some(&n) = buf.get(2).filter(|&&n| n < 0x80) {
            if let Some(&choice) = buf.get(3 + usize::from(n)) {
                if !matches!(choice, 0x00 | 0x80) {
                    return Err(Error::Recovery(choice));
                }
            }
        }
        let r: Res<'a, u16> = be_u16(buf);
        let (i, seq) = r.map_err(|_| Error::Truncated("seq-number"))?;
        let (i, primary) = open_type(i, "primary ifp")?;
        let (i, choice) = bytes(i, 1, "error-recovery")?;
        let choice = choice.first().copied().unwrap_or(0);
        // The choice is checked before the primary IFP is read (as above, for any length).
        if !matches!(choice, 0x00 | 0x80) {
            return Err(Error::Recovery(choice));
        }
        let primary = Ifp::parse(primary)?;
        let recovery = if choice == 0x00 {
            let (i, count) = length("secondary-ifp-packets")(i)?;
            let mut rest = i;
            for _ in 0..count {
                let (r, ifp) = open_type(rest, "secondary ifp")?;
                Ifp::parse(ifp)?;
                rest = r;
            }
            if !rest.is_empty() {
                return Err(Error::Trailing("secondary-ifp-packets", rest.len()));
            }
            Recovery::Redundancy(Secondaries { count, rest: i })
        } else {
            // 0x80, forward error correction.
            // fec-npackets: an unconstrained INTEGER (a length, then that many octets).
            let (i, n) = open_type(i, "fec-npackets")?;
            if n.is_empty() || n.len() > 4 {
                return Err(Error::Truncated("fec-npackets"));
            }
            let span = n.iter().fold(0u32, |v, &b| v << 8 | u32::from(b));
            let (i, entries) = length("fec-data")(i)?;
            let mut rest = i;
            for _ in 0..entries {
                rest = open_type(rest, "fec-data")?.0;
            }
            if !rest.is_empty() {
                return Err(Error::Trailing("fec-data", rest.len()));
            }
            Recovery::Fec { span, entries }
        };
        Ok(Packet {
            seq,
            primary,
            recovery,
        })
    }

    /// The sequence number (T.38 §9.1: one more for each new primary IFP, the same when resent).
    pub fn seq(&self) -> u16 {
        self.seq
    }

    pub fn primary(&self) -> Ifp<'a> {
        self.primary
    }

    pub fn recovery(&self) -> Recovery<'a> {
        self.recovery
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// seq 45000, CED indicator, redundancy with no secondaries.
    const CED: [u8; 6] = [0xaf, 0xc8, 0x01, 0x04, 0x00, 0x00];
    /// seq 32770, V.21 data with one hdlc-data field `ff c8 c1 00`, repeating the V.21 preamble
    /// indicator and CNG.
    const HDLC: [u8; 18] = [
        0x80, 0x02, 0x09, 0xc0, 0x01, 0x80, 0x00, 0x03, 0xff, 0xc8, 0xc1, 0x00, 0x00, 0x02, 0x01,
        0x06, 0x01, 0x02,
    ];

    #[test]
    fn an_indicator_packet() {
        let p = Packet::parse(&CED).expect("parses");
        assert_eq!(p.seq(), 45000);
        assert_eq!(p.primary().message, Message::Indicator(Indicator::CED));
        assert_eq!(Indicator::CED.name(), Some("ced"));
        match p.recovery() {
            Recovery::Redundancy(s) => assert!(s.is_empty()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_data_packet_with_its_field_and_secondaries() {
        let p = Packet::parse(&HDLC).expect("parses");
        assert_eq!(p.seq(), 32770);
        let ifp = p.primary();
        assert_eq!(ifp.message, Message::Data(Modulation::V21));
        let fields: Vec<Field<'_>> = ifp.fields().collect();
        assert_eq!(
            fields,
            [Field {
                kind: 0,
                data: &[0xff, 0xc8, 0xc1, 0x00]
            }]
        );
        let Recovery::Redundancy(s) = p.recovery() else {
            panic!("redundancy")
        };
        let secondaries: Vec<Message> = s.map(|i| i.message).collect();
        assert_eq!(
            secondaries,
            [
                Message::Indicator(Indicator::V21_PREAMBLE),
                Message::Indicator(Indicator::CNG)
            ]
        );
    }

    #[test]
    fn an_rtp_packet_fails_on_its_error_recovery_choice() {
        // V=2, PCMU, sequence 0x1203: read as UDPTL, a primary IFP of 0x12 octets, then the choice.
        let mut rtp = vec![0x80, 0x00, 0x12, 0x03, 0, 0, 0, 160, 1, 2, 3, 4];
        rtp.extend([0xd5; 160]);
        assert_eq!(Packet::parse(&rtp).err(), Some(Error::Recovery(0xd5)));
        // Where the choice would be valid, the packet is read element by element and fails later,
        // on the IFP's first octet (0x03: its padding bit set).
        rtp[3 + 0x12] = 0x00;
        assert_eq!(Packet::parse(&rtp).err(), Some(Error::MessageType(0x03)));
        // Cut before the choice: the primary IFP itself is what is missing.
        assert_eq!(
            Packet::parse(&rtp[..10]).err(),
            Some(Error::Truncated("primary ifp"))
        );
    }

    #[test]
    fn fec_and_extension_values() {
        // seq 7, v8-ansam (indicator extension 0), FEC over 3 packets with one 2-octet entry.
        let p =
            Packet::parse(&[0, 7, 2, 0x20, 0x00, 0x80, 1, 3, 1, 2, 0xaa, 0xbb]).expect("parses");
        assert_eq!(p.primary().message, Message::Indicator(Indicator(16)));
        assert_eq!(Indicator(16).name(), Some("v8-ansam"));
        assert_eq!(
            p.recovery(),
            Recovery::Fec {
                span: 3,
                entries: 1
            }
        );
        // A two-octet length determinant.
        let mut long = vec![0, 1, 0x80, 0x85];
        long.extend([0xd0, 0x01, 0xe0, 0x00, 0x7f]);
        long.extend([0u8; 128]);
        long.extend([0, 0]);
        let p = Packet::parse(&long).expect("parses");
        assert_eq!(
            p.primary().fields().next().map(|f| (f.kind, f.data.len())),
            Some((6, 128))
        );
    }

    #[test]
    fn inconsistent_bytes_are_refused() {
        // Trailing byte, bad choice, padding bit set, modulation out of range, truncated at every prefix.
        let mut trailing = CED.to_vec();
        trailing.push(0);
        assert_eq!(
            Packet::parse(&trailing),
            Err(Error::Trailing("secondary-ifp-packets", 1))
        );
        assert_eq!(
            Packet::parse(&[0, 1, 1, 4, 0x40, 0]),
            Err(Error::Recovery(0x40))
        );
        assert_eq!(
            Packet::parse(&[0, 1, 1, 5, 0, 0]),
            Err(Error::MessageType(5))
        );
        assert_eq!(
            Packet::parse(&[0, 1, 1, 0x52, 0, 0]),
            Err(Error::MessageType(0x52))
        );
        for n in 0..HDLC.len() {
            assert!(Packet::parse(&HDLC[..n]).is_err(), "{n} bytes");
        }
        // A typical RTP packet (PCMU, 160 bytes of payload) is not UDPTL.
        let mut rtp = vec![0x80, 0x00, 0x03, 0xe8, 0, 0, 0, 160, 0xca, 0x11, 0, 0];
        rtp.extend([0xffu8; 160]);
        assert!(Packet::parse(&rtp).is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            if let Ok(p) = Packet::parse(&buf) {
                let _ = p.primary().fields().count();
                if let Recovery::Redundancy(s) = p.recovery() {
                    proptest::prop_assert_eq!(s.count(), s.len());
                }
            }
            let _ = Ifp::parse(&buf).map(|i| i.fields().count());
        }

        #[test]
        fn built_packets_parse_back(seq in 0u16.., value in 0u8..9, data in proptest::collection::vec(proptest::num::u8::ANY, 1..300), depth in 0usize..4) {
            // A data IFP with one field, repeated as the secondaries.
            let mut ifp = vec![0xc0 | value << 1, 1, 0xe0];
            ifp.extend(((data.len() - 1) as u16).to_be_bytes());
            ifp.extend(&data);
            let open = |v: &[u8]| {
                let mut out = if v.len() < 128 { vec![v.len() as u8] } else { vec![0x80 | (v.len() >> 8) as u8, v.len() as u8] };
                out.extend(v);
                out
            };
            let mut buf = seq.to_be_bytes().to_vec();
            buf.extend(open(&ifp));
            buf.extend([0, depth as u8]);
            for _ in 0..depth {
                buf.extend(open(&ifp));
            }
            let p = Packet::parse(&buf).expect("a built packet parses");
            proptest::prop_assert_eq!(p.seq(), seq);
            proptest::prop_assert_eq!(p.primary().message, Message::Data(Modulation(value)));
            proptest::prop_assert_eq!(p.primary().fields().next().map(|f| f.data.to_vec()), Some(data.clone()));
            match p.recovery() {
                Recovery::Redundancy(s) => proptest::prop_assert_eq!(s.count(), depth),
                Recovery::Fec { .. } => proptest::prop_assert!(false, "redundancy expected"),
            }
        }
    }
}
