//! Listening-quality estimate of a call leg: ITU-T G.107 E-model (R-factor) and its MOS mapping.
//!
//! Takes in: the codec, the packet loss percentage and burstiness, and an estimate of the one-way delay.
//! Produces: the transmission rating R (0..=100 in practice) and the conversational MOS (1.0..=4.5).
//! Does not: measure delay (a passive capture sees no mouth-to-ear delay; callers estimate it, e.g. with
//! [`one_way_delay_ms`]), model echo, loudness or background noise, or use the wideband E-model (G.107.1).
//!
//! Simplifications, stated once here:
//! - R = Ro − Is − Id − Ie,eff + A with every G.107 default (Ro − Is = 93.2, A = 0), i.e. no noise, loudness,
//!   sidetone or echo impairments other than what the defaults imply.
//! - Id is only Idd, the pure-delay impairment from the absolute one-way delay Ta (G.107 §7.3, with mT = 100 ms,
//!   sT = 1, which makes Idd 0 up to 100 ms). Idte (talker echo) and Idle (listener echo) are taken as 0, which is
//!   what they are with the default echo loss values and an echo-free packet network.
//! - Ie,eff = Ie + (95 − Ie) · Ppl / (Ppl / BurstR + Bpl) (G.107 §7.4); BurstR = 1 for random loss.
//! - Jitter becomes delay through an assumed de-jitter buffer of twice the mean interarrival jitter
//!   ([`one_way_delay_ms`]); late-discarded packets are not modelled, only the loss the caller passes.
//! - Ie/Bpl values are those of ITU-T G.113 Appendix I where it has them (G.711, G.729A, G.723.1, GSM-EFR).
//!   G.722, Opus and SILK are wideband codecs that the narrowband E-model cannot credit; they are rated as
//!   G.711 with PLC (Ie 0) with a loss robustness from the literature — an approximation, flagged per constant.

/// Codec parameters of the E-model: equipment impairment Ie and packet-loss robustness Bpl.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EModelCodec {
    /// Equipment impairment factor at zero loss.
    pub ie: f64,
    /// Packet-loss robustness factor (larger = more robust).
    pub bpl: f64,
}

impl EModelCodec {
    /// G.711 with packet-loss concealment (G.711 Appendix I), G.113 Appendix I: Ie 0, Bpl 25.1.
    /// This is the default for G.711 because practically every endpoint conceals loss.
    pub const G711: Self = Self { ie: 0.0, bpl: 25.1 };
    /// G.711 without concealment (G.113 Appendix I, random loss): Ie 0, Bpl 4.3.
    pub const G711_NO_PLC: Self = Self { ie: 0.0, bpl: 4.3 };
    /// G.729 / G.729A (G.113 Appendix I, G.729A + VAD): Ie 11, Bpl 19.
    pub const G729: Self = Self {
        ie: 11.0,
        bpl: 19.0,
    };
    /// G.723.1 at 6.3 kbit/s (G.113 Appendix I): Ie 15, Bpl 16.1.
    pub const G723: Self = Self {
        ie: 15.0,
        bpl: 16.1,
    };
    /// GSM full rate (G.113 Appendix I gives Ie 20; no Bpl there, 10 assumed as for EFR).
    pub const GSM_FR: Self = Self {
        ie: 20.0,
        bpl: 10.0,
    };
    /// GSM-EFR, also used for AMR-NB 12.2 kbit/s (G.113 Appendix I): Ie 5, Bpl 10.
    pub const GSM_EFR: Self = Self { ie: 5.0, bpl: 10.0 };
    /// iLBC: approximation from published E-model fits (Ie about 11, Bpl about 32); iLBC is built for loss.
    pub const ILBC: Self = Self {
        ie: 11.0,
        bpl: 32.0,
    };
    /// G.722: approximation, rated as G.711 with PLC on the narrowband scale (its wideband gain is not credited).
    pub const G722: Self = Self { ie: 0.0, bpl: 25.1 };
    /// Opus: approximation, Ie 0 at VoIP bitrates on the narrowband scale, Bpl 30 for its PLC (FEC not credited).
    pub const OPUS: Self = Self { ie: 0.0, bpl: 30.0 };
    /// SILK (Skype/Lync): approximation as Opus, whose speech layer it is.
    pub const SILK: Self = Self { ie: 0.0, bpl: 30.0 };

    /// The parameters for an SDP encoding name (`a=rtpmap`, case-insensitive), `None` when unknown.
    pub fn for_encoding(name: &str) -> Option<Self> {
        let known: [(&str, Self); 12] = [
            ("PCMU", Self::G711),
            ("PCMA", Self::G711),
            ("G729", Self::G729),
            ("G729A", Self::G729),
            ("G723", Self::G723),
            ("GSM", Self::GSM_FR),
            ("GSM-EFR", Self::GSM_EFR),
            ("AMR", Self::GSM_EFR),
            ("iLBC", Self::ILBC),
            ("G722", Self::G722),
            ("opus", Self::OPUS),
            ("SILK", Self::SILK),
        ];
        known
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, c)| c)
    }
}

/// Ro − Is with all G.107 default values.
const R_DEFAULT: f64 = 93.2;

/// Mouth-to-ear delay below which G.107 counts no delay impairment (mT, ms).
const DELAY_THRESHOLD_MS: f64 = 100.0;

fn finite_or(x: f64, default: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        default
    }
}

/// Effective equipment impairment Ie,eff (G.107 §7.4) for `loss_pct` percent loss (clamped to 0..=100) with
/// burst ratio `burst_ratio` (1.0 = random; values below a tiny positive floor are raised to it).
pub fn effective_equipment_impairment(codec: EModelCodec, loss_pct: f64, burst_ratio: f64) -> f64 {
    let ppl = finite_or(loss_pct, 0.0).clamp(0.0, 100.0);
    let burst = finite_or(burst_ratio, 1.0).max(1e-6);
    let denom = ppl / burst + codec.bpl;
    if denom <= 0.0 {
        return codec.ie;
    }
    codec.ie + (95.0 - codec.ie) * ppl / denom
}

/// Delay impairment Idd (G.107 §7.3) for an absolute one-way delay Ta in ms; 0 up to 100 ms.
pub fn delay_impairment(one_way_delay_ms: f64) -> f64 {
    let ta = finite_or(one_way_delay_ms, 0.0);
    if ta <= DELAY_THRESHOLD_MS {
        return 0.0;
    }
    let x = (ta / DELAY_THRESHOLD_MS).log2();
    let term = |v: f64| (1.0 + v.powi(6)).powf(1.0 / 6.0);
    25.0 * (term(x) - 3.0 * term(x / 3.0) + 2.0)
}

/// One-way delay estimate from a measured (or assumed) network delay and the mean interarrival jitter: the
/// de-jitter buffer is assumed to hold twice the mean jitter.
pub fn one_way_delay_ms(network_delay_ms: f64, mean_jitter_ms: f64) -> f64 {
    finite_or(network_delay_ms, 0.0).max(0.0) + 2.0 * finite_or(mean_jitter_ms, 0.0).max(0.0)
}

/// Transmission rating R = 93.2 − Idd − Ie,eff, clamped to 0..=100.
pub fn r_factor(codec: EModelCodec, loss_pct: f64, burst_ratio: f64, one_way_delay_ms: f64) -> f64 {
    let r = R_DEFAULT
        - delay_impairment(one_way_delay_ms)
        - effective_equipment_impairment(codec, loss_pct, burst_ratio);
    finite_or(r, 0.0).clamp(0.0, 100.0)
}

/// MOS (conversational quality estimate) from R (G.107 Annex B):
/// 1 for R < 0, 4.5 for R > 100, else 1 + 0.035R + 7·10⁻⁶·R(R − 60)(100 − R), floored at 1.
pub fn mos_from_r(r: f64) -> f64 {
    if r.is_nan() || r <= 0.0 {
        return 1.0;
    }
    if r >= 100.0 {
        return 4.5;
    }
    // The cubic dips a little below 1 for R under about 6.5; MOS is 1 at worst.
    (1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r)).clamp(1.0, 4.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, eps: f64) -> bool {
        (a - b).abs() < eps
    }

    #[test]
    fn g711_clean_call() {
        let r = r_factor(EModelCodec::G711, 0.0, 1.0, 20.0);
        assert!(close(r, 93.2, 1e-9));
        assert!(close(mos_from_r(r), 4.41, 0.005), "{}", mos_from_r(r));
    }

    #[test]
    fn mos_mapping_points() {
        assert!(close(mos_from_r(50.0), 2.58, 0.01));
        assert_eq!(mos_from_r(-3.0), 1.0);
        assert_eq!(mos_from_r(f64::NAN), 1.0);
        assert_eq!(mos_from_r(120.0), 4.5);
        // Monotonic over the useful range.
        let mut prev = 0.0;
        for r in 0..=100 {
            let m = mos_from_r(f64::from(r));
            assert!(m >= prev);
            prev = m;
        }
    }

    #[test]
    fn loss_and_codec_impairments() {
        // G.729A: 93.2 − 11 = 82.2 without loss.
        assert!(close(
            r_factor(EModelCodec::G729, 0.0, 1.0, 0.0),
            82.2,
            1e-9
        ));
        // G.711 with PLC, 1 % random loss: Ie,eff = 95·1/(1 + 25.1) = 3.64.
        let ie = effective_equipment_impairment(EModelCodec::G711, 1.0, 1.0);
        assert!(close(ie, 95.0 / 26.1, 1e-9));
        // Without PLC loss hurts far more, and bursts hurt more than random loss.
        assert!(effective_equipment_impairment(EModelCodec::G711_NO_PLC, 1.0, 1.0) > 3.0 * ie);
        assert!(
            effective_equipment_impairment(EModelCodec::G711, 5.0, 2.0)
                > effective_equipment_impairment(EModelCodec::G711, 5.0, 1.0)
        );
        assert!(close(
            effective_equipment_impairment(EModelCodec::G711, 100.0, 1.0),
            95.0 * 100.0 / 125.1,
            1e-9
        ));
    }

    #[test]
    fn delay_impairment_shape() {
        assert_eq!(delay_impairment(0.0), 0.0);
        assert_eq!(delay_impairment(100.0), 0.0);
        // Ta = 200 ms: X = 1; Idd = 25·(2^(1/6) − 3·(1 + 3^−6)^(1/6) + 2).
        let x3: f64 = 1.0 / 3.0;
        let expect = 25.0 * (2f64.powf(1.0 / 6.0) - 3.0 * (1.0 + x3.powi(6)).powf(1.0 / 6.0) + 2.0);
        assert!(close(delay_impairment(200.0), expect, 1e-9));
        assert!(delay_impairment(400.0) > delay_impairment(200.0));
        assert!(close(one_way_delay_ms(50.0, 10.0), 70.0, 1e-9));
        assert!(r_factor(EModelCodec::G711, 0.0, 1.0, 400.0) < 93.2);
    }

    #[test]
    fn codec_lookup() {
        assert_eq!(EModelCodec::for_encoding("pcmu"), Some(EModelCodec::G711));
        assert_eq!(EModelCodec::for_encoding("OPUS"), Some(EModelCodec::OPUS));
        assert_eq!(EModelCodec::for_encoding("G729"), Some(EModelCodec::G729));
        assert_eq!(EModelCodec::for_encoding("H264"), None);
    }

    proptest::proptest! {
        #[test]
        fn any_input_gives_bounded_values(loss in proptest::num::f64::ANY, burst in proptest::num::f64::ANY,
                                          delay in proptest::num::f64::ANY, ie in 0.0f64..60.0, bpl in 0.0f64..60.0) {
            let r = r_factor(EModelCodec { ie, bpl }, loss, burst, delay);
            proptest::prop_assert!((0.0..=100.0).contains(&r));
            let m = mos_from_r(r);
            proptest::prop_assert!((1.0..=4.5).contains(&m));
        }
    }
}
