//! The report's pretty layout — serde_json's `to_vec_pretty` (two spaces a level, `": "` after a
//! key, `[]` and `{}` when empty) starting some levels in, so that an item of a top-level array is
//! written in place — by a serializer of its own.
//!
//! serde_json scans every string it writes, each key included, byte by byte for what to escape;
//! the report's strings nearly never need it, so here a whole string is checked at once and copied.
//! Numbers go through serde_json's own formatter, so the bytes are serde_json's (tested against it).

use serde::ser::{self, Error as _, Serialize};
use serde_json::ser::{CompactFormatter, Formatter};
use serde_json::Error;

/// `value` laid out as it sits `depth` levels inside the report: every line after the first
/// indented to that depth.
pub(super) fn to_vec(value: &impl Serialize, depth: usize) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    write(value, depth, &mut out)?;
    Ok(out)
}

/// [`to_vec`] appended to `out` (a buffer reused item after item, so that what is kept can be an
/// exact-size copy).
pub(super) fn write(value: &impl Serialize, depth: usize, out: &mut Vec<u8>) -> Result<(), Error> {
    let mut ser = Pretty {
        out: std::mem::take(out),
        depth,
    };
    let written = value.serialize(&mut ser);
    *out = ser.out;
    written
}

/// A comma, a line break and more spaces than most lines need: a break and its indentation go out
/// in one copy.
const BREAK: &[u8; 66] = b",\n                                                                ";

struct Pretty {
    out: Vec<u8>,
    depth: usize,
}

impl Pretty {
    /// A line break indented to the depth, after a comma if `comma`.
    fn newline(&mut self, comma: bool) {
        let mut n = self.depth * 2;
        let k = n.min(BREAK.len() - 2);
        self.out
            .extend_from_slice(&BREAK[usize::from(!comma)..2 + k]);
        n -= k;
        while n > 0 {
            let k = n.min(BREAK.len() - 2);
            self.out.extend_from_slice(&BREAK[2..2 + k]);
            n -= k;
        }
    }

    /// Opens an array or object (`[` or `{`): its elements are one level in.
    fn open(&mut self, bracket: u8, variant: Option<&str>) -> Compound<'_> {
        if let Some(name) = variant {
            self.out.push(b'{');
            self.depth += 1;
            self.newline(false);
            string(&mut self.out, name);
            self.out.extend_from_slice(b": ");
        }
        self.out.push(bracket);
        self.depth += 1;
        Compound {
            ser: self,
            first: true,
            close: if bracket == b'[' { b']' } else { b'}' },
            variant: variant.is_some(),
        }
    }

    fn number(
        &mut self,
        write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        write(&mut self.out).map_err(Error::io)
    }
}

/// Writes `s` as a JSON string, escaped as serde_json escapes (`\"`, `\\`, the short forms of
/// backspace, tab, line feed, form feed and carriage return, `\u00xx` for other control bytes).
fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    if plain(s) {
        out.extend_from_slice(s.as_bytes());
    } else {
        for b in s.bytes() {
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x09 => out.extend_from_slice(b"\\t"),
                0x0a => out.extend_from_slice(b"\\n"),
                0x0c => out.extend_from_slice(b"\\f"),
                0x0d => out.extend_from_slice(b"\\r"),
                0x00..=0x1f => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(b >> 4)]);
                    out.push(HEX[usize::from(b & 0x0f)]);
                }
                _ => out.push(b),
            }
        }
    }
    out.push(b'"');
}

/// Whether `s` needs no escaping; every byte is looked at (no early exit), so that the check
/// runs many bytes at a time.
fn plain(s: &str) -> bool {
    !s.bytes().fold(false, |bad, b| {
        bad | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

/// An array or object being written.
struct Compound<'a> {
    ser: &'a mut Pretty,
    first: bool,
    close: u8,
    /// Inside the one-key object of an enum variant (`{"Name": [...]}`), closed with it.
    variant: bool,
}

impl Compound<'_> {
    /// Starts the next element: a line break, after a comma unless it is the first.
    fn next(&mut self) {
        self.ser.newline(!self.first);
        self.first = false;
    }

    fn end(self) -> Result<(), Error> {
        let ser = self.ser;
        ser.depth -= 1;
        if !self.first {
            ser.newline(false);
        }
        ser.out.push(self.close);
        if self.variant {
            ser.depth -= 1;
            ser.newline(false);
            ser.out.push(b'}');
        }
        Ok(())
    }

    fn element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.next();
        value.serialize(&mut *self.ser)
    }

    /// A struct's field (or a variant's name): a name from this crate's code, which needs no
    /// escaping (checked in debug builds, which the tests run).
    fn field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        debug_assert!(plain(key), "{key:?}");
        self.next();
        let out = &mut self.ser.out;
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\": ");
        value.serialize(&mut *self.ser)
    }
}

/// What both serializers here write alike: a character or a unit variant as a string, a newtype
/// struct as its value, and the integers (the 8-, 16- and 32-bit ones widened) by `$write` with
/// serde_json's digits (the report's as numbers, the map keys' quoted).
macro_rules! common {
    ($write:ident) => {
        fn serialize_char(self, v: char) -> Result<(), Error> {
            self.serialize_str(v.encode_utf8(&mut [0; 4]))
        }
        fn serialize_unit_variant(
            self,
            _: &'static str,
            _: u32,
            variant: &'static str,
        ) -> Result<(), Error> {
            self.serialize_str(variant)
        }
        fn serialize_newtype_struct<T: ?Sized + Serialize>(
            self,
            _: &'static str,
            value: &T,
        ) -> Result<(), Error> {
            value.serialize(self)
        }
        fn serialize_i8(self, v: i8) -> Result<(), Error> {
            self.serialize_i64(i64::from(v))
        }
        fn serialize_i16(self, v: i16) -> Result<(), Error> {
            self.serialize_i64(i64::from(v))
        }
        fn serialize_i32(self, v: i32) -> Result<(), Error> {
            self.serialize_i64(i64::from(v))
        }
        fn serialize_u8(self, v: u8) -> Result<(), Error> {
            self.serialize_u64(u64::from(v))
        }
        fn serialize_u16(self, v: u16) -> Result<(), Error> {
            self.serialize_u64(u64::from(v))
        }
        fn serialize_u32(self, v: u32) -> Result<(), Error> {
            self.serialize_u64(u64::from(v))
        }
        fn serialize_i64(self, v: i64) -> Result<(), Error> {
            self.$write(|w| CompactFormatter.write_i64(w, v))
        }
        fn serialize_i128(self, v: i128) -> Result<(), Error> {
            self.$write(|w| CompactFormatter.write_i128(w, v))
        }
        fn serialize_u64(self, v: u64) -> Result<(), Error> {
            self.$write(|w| CompactFormatter.write_u64(w, v))
        }
        fn serialize_u128(self, v: u128) -> Result<(), Error> {
            self.$write(|w| CompactFormatter.write_u128(w, v))
        }
    };
}

impl<'a> ser::Serializer for &'a mut Pretty {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    common!(number);
    /// Not finite: `null`, as serde_json writes it.
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        if !v.is_finite() {
            return self.serialize_unit();
        }
        self.number(|w| CompactFormatter.write_f32(w, v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if !v.is_finite() {
            return self.serialize_unit();
        }
        self.number(|w| CompactFormatter.write_f64(w, v))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        string(&mut self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        let mut seq = self.open(b'[', None);
        for b in v {
            ser::SerializeSeq::serialize_element(&mut seq, b)?;
        }
        seq.end()
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let mut map = self.open(b'{', None);
        map.field(variant, value)?;
        map.end()
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a>, Error> {
        Ok(self.open(b'[', None))
    }
    fn serialize_tuple(self, _: usize) -> Result<Compound<'a>, Error> {
        Ok(self.open(b'[', None))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Error> {
        Ok(self.open(b'[', None))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, Error> {
        Ok(self.open(b'[', Some(variant)))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a>, Error> {
        Ok(self.open(b'{', None))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Error> {
        Ok(self.open(b'{', None))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, Error> {
        Ok(self.open(b'{', Some(variant)))
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Error> {
        self.next();
        key.serialize(MapKey(&mut self.ser.out))?;
        self.ser.out.extend_from_slice(b": ");
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

/// The traits of serde's compounds that take elements one after another: `method` writes one.
macro_rules! elements {
    ($($name:ident :: $method:ident),*) => {$(
        impl ser::$name for Compound<'_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
                self.element(value)
            }
            fn end(self) -> Result<(), Error> {
                Compound::end(self)
            }
        }
    )*};
}
elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// The traits of serde's compounds that take named fields.
macro_rules! fields {
    ($($name:ident),*) => {$(
        impl ser::$name for Compound<'_> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: ?Sized + Serialize>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Error> {
                self.field(key, value)
            }
            fn end(self) -> Result<(), Error> {
                Compound::end(self)
            }
        }
    )*};
}
fields!(SerializeStruct, SerializeStructVariant);

/// A map key: a string, or what serde_json quotes into one (a character, an integer, a unit
/// variant's name); anything else is refused, as serde_json refuses it.
struct MapKey<'a>(&'a mut Vec<u8>);

fn key_must_be_a_string() -> Error {
    Error::custom("key must be a string")
}

impl MapKey<'_> {
    fn quoted(self, write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> Result<(), Error> {
        self.0.push(b'"');
        write(self.0).map_err(Error::io)?;
        self.0.push(b'"');
        Ok(())
    }
}

impl ser::Serializer for MapKey<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        string(self.0, v);
        Ok(())
    }
    common!(quoted);
    fn serialize_bool(self, _: bool) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_f32(self, _: f32) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_f64(self, _: f64) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_must_be_a_string())
    }
}

#[cfg(test)]
mod tests {
    use super::to_vec;

    fn pretty(v: &serde_json::Value, depth: usize) -> String {
        String::from_utf8(to_vec(v, depth).expect("serialises")).expect("UTF-8")
    }

    #[test]
    fn the_layout_is_serde_jsons_pretty_one_moved_in() {
        let v = serde_json::json!({
            "a": [], "b": {}, "c": [1, {"d": [null, "x"], "e": {}}], "f": {"g": [[]], "h": 1.5},
            "i": -7, "j": 1e300, "k": 0.1, "l": true, "m": u64::MAX,
            "quote \" and \\ and \u{1} \t\n\r\u{8}\u{c} é ☎": "\u{1f}\u{7f}",
        });
        let reference = serde_json::to_string_pretty(&v).expect("serialises");
        assert_eq!(pretty(&v, 0), reference);
        assert_eq!(pretty(&v, 2), reference.replace('\n', "\n    "));
        // Deeper than one copy of the indentation holds.
        assert_eq!(
            pretty(&v, 40),
            reference.replace('\n', &format!("\n{}", " ".repeat(80)))
        );
    }

    #[test]
    fn variants_options_and_keys_are_written_as_serde_json_writes_them() {
        #[derive(serde::Serialize)]
        enum E {
            Unit,
            New(u8),
            Tuple(u8, &'static str),
            Struct { a: Option<u8>, b: Option<f64> },
        }
        let mut keys = std::collections::BTreeMap::new();
        keys.insert(3u16, 'x');
        let values = (
            [
                E::Unit,
                E::New(1),
                E::Tuple(2, "t"),
                E::Struct {
                    a: None,
                    b: Some(f64::NAN),
                },
            ],
            keys,
            (),
            [0.5f32],
        );
        let reference = serde_json::to_string_pretty(&values).expect("serialises");
        assert_eq!(
            String::from_utf8(to_vec(&values, 0).expect("serialises")).expect("UTF-8"),
            reference
        );
        let mut bad = std::collections::BTreeMap::new();
        bad.insert(vec![1u8], 1u8);
        assert!(to_vec(&bad, 0).is_err());
    }
}
