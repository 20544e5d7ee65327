//! The subset of CBOR (RFC 8949) that WebAuthn sends: attestation objects
//! and COSE keys. Definite lengths only (CTAP2's canonical form), a nesting
//! limit, and no length believed beyond the bytes at hand, so hostile input
//! cannot make it allocate or recurse without bound. Floats and tags are
//! refused: no WebAuthn structure latchkey reads has them.

/// A decoded item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Major types 0 and 1.
    Int(i128),
    /// Major type 2.
    Bytes(Vec<u8>),
    /// Major type 3.
    Text(String),
    /// Major type 4.
    Array(Vec<Value>),
    /// Major type 5, in the order sent.
    Map(Vec<(Value, Value)>),
    /// `true`, `false`.
    Bool(bool),
    /// `null`, `undefined`.
    Null,
}

impl Value {
    /// The integer, when it is one that fits `i64`.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => i64::try_from(*i).ok(),
            _ => None,
        }
    }

    /// The byte string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The text string.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }

    /// A map's value under integer key `key`.
    pub fn map_get_int(&self, key: i64) -> Option<&Value> {
        self.map_get(|k| k.as_int() == Some(key))
    }

    /// A map's value under text key `key`.
    pub fn map_get_text(&self, key: &str) -> Option<&Value> {
        self.map_get(|k| k.as_text() == Some(key))
    }

    fn map_get(&self, matches: impl Fn(&Value) -> bool) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries.iter().find(|(k, _)| matches(k)).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Input that is not CBOR latchkey reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed CBOR")]
pub struct Malformed;

const MAX_DEPTH: usize = 8;

/// Decodes the first item of `input`; the item and the bytes it used.
pub fn decode(input: &[u8]) -> Result<(Value, usize), Malformed> {
    let mut reader = Reader { input, pos: 0 };
    let value = reader.item(0)?;
    Ok((value, reader.pos))
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], Malformed> {
        let end = self.pos.checked_add(n).ok_or(Malformed)?;
        let slice = self.input.get(self.pos..end).ok_or(Malformed)?;
        self.pos = end;
        Ok(slice)
    }

    fn argument(&mut self, info: u8) -> Result<u64, Malformed> {
        Ok(match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.take(1)?[0]),
            25 => u64::from(u16::from_be_bytes(
                self.take(2)?.try_into().map_err(|_| Malformed)?,
            )),
            26 => u64::from(u32::from_be_bytes(
                self.take(4)?.try_into().map_err(|_| Malformed)?,
            )),
            27 => u64::from_be_bytes(self.take(8)?.try_into().map_err(|_| Malformed)?),
            _ => return Err(Malformed),
        })
    }

    /// A length no larger than the bytes left (each element is a byte at
    /// least), so a forged length cannot reserve memory.
    fn length(&mut self, info: u8) -> Result<usize, Malformed> {
        let n = usize::try_from(self.argument(info)?).map_err(|_| Malformed)?;
        if n > self.input.len() - self.pos {
            return Err(Malformed);
        }
        Ok(n)
    }

    fn item(&mut self, depth: usize) -> Result<Value, Malformed> {
        if depth > MAX_DEPTH {
            return Err(Malformed);
        }
        let head = self.take(1)?[0];
        let (major, info) = (head >> 5, head & 0x1f);
        Ok(match major {
            0 => Value::Int(i128::from(self.argument(info)?)),
            1 => Value::Int(-1 - i128::from(self.argument(info)?)),
            2 => {
                let n = self.length(info)?;
                Value::Bytes(self.take(n)?.to_vec())
            }
            3 => {
                let n = self.length(info)?;
                let text = std::str::from_utf8(self.take(n)?).map_err(|_| Malformed)?;
                Value::Text(text.to_owned())
            }
            4 => {
                let n = self.length(info)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.item(depth + 1)?);
                }
                Value::Array(items)
            }
            5 => {
                let n = self.length(info)?;
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    let k = self.item(depth + 1)?;
                    let v = self.item(depth + 1)?;
                    entries.push((k, v));
                }
                Value::Map(entries)
            }
            7 => match info {
                20 => Value::Bool(false),
                21 => Value::Bool(true),
                22 | 23 => Value::Null,
                _ => return Err(Malformed),
            },
            _ => return Err(Malformed),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_webauthn_sends() {
        // {1: 2, 3: -7, -1: 1, "fmt": "none", "b": h'0102', "a": [true, null]}
        let bytes = [
            0xa6, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x63, b'f', b'm', b't', 0x64, b'n', b'o',
            b'n', b'e', 0x61, b'b', 0x42, 1, 2, 0x61, b'a', 0x82, 0xf5, 0xf6,
        ];
        let (v, used) = decode(&bytes).unwrap();
        assert_eq!(used, bytes.len());
        assert_eq!(v.map_get_int(1).and_then(Value::as_int), Some(2));
        assert_eq!(v.map_get_int(3).and_then(Value::as_int), Some(-7));
        assert_eq!(v.map_get_int(-1).and_then(Value::as_int), Some(1));
        assert_eq!(v.map_get_text("fmt").and_then(Value::as_text), Some("none"));
        assert_eq!(
            v.map_get_text("b").and_then(Value::as_bytes),
            Some(&[1u8, 2][..])
        );
        assert_eq!(
            v.map_get_text("a"),
            Some(&Value::Array(vec![Value::Bool(true), Value::Null]))
        );
    }

    #[test]
    fn refuses_hostile_input() {
        for (name, bytes) in [
            ("empty", vec![]),
            ("truncated bytes", vec![0x44, 1, 2]),
            (
                "huge length",
                vec![0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ),
            ("huge array", vec![0x9a, 0xff, 0xff, 0xff, 0xff]),
            ("indefinite", vec![0x5f, 0x41, 0, 0xff]),
            ("tag", vec![0xc0, 0x00]),
            ("float", vec![0xf9, 0, 0]),
            ("bad utf-8", vec![0x61, 0xff]),
            ("too deep", vec![0x81; 20]),
        ] {
            assert_eq!(decode(&bytes).err(), Some(Malformed), "{name}");
        }
    }
}
