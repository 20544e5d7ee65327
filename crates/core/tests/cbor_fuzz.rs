//! A deterministic fuzz-style test of the passkeys' CBOR reader
//! (`passkeys/cbor.rs`, a hand-written parser of what a browser sends),
//! through its public door `webauthn::PublicKey::from_cose`: random byte
//! strings, every truncation and every single-bit flip of a well-formed
//! COSE key, and hostile shapes (deep nesting, indefinite and huge
//! lengths). Every input answers `Ok` or `Err`; none panics, overflows the
//! stack or allocates what a length claims. The generator is a fixed-seed
//! xorshift, so a failure names an input that fails again.

use latchkey_core::passkeys::webauthn::PublicKey;

/// xorshift64*: a fixed sequence of bytes, no dependency.
struct Bytes(u64);

impl Bytes {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn fill(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// A COSE_Key as an authenticator sends it: EC2 (1: 2), ES256 (3: -7),
/// P-256 (-1: 1), x (-2) and y (-3) of 32 bytes each.
fn cose_key(rng: &mut Bytes) -> Vec<u8> {
    let mut out = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20];
    out.extend(rng.fill(32));
    out.extend([0x22, 0x58, 0x20]);
    out.extend(rng.fill(32));
    out
}

/// Parses `input`; a panic fails the test, naming the input.
fn parse(input: &[u8]) -> bool {
    let result = std::panic::catch_unwind(|| PublicKey::from_cose(input).is_ok());
    result.unwrap_or_else(|_| panic!("panicked on {input:02x?}"))
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Bytes(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let len = (rng.next() % 96) as usize;
        let input = rng.fill(len);
        assert!(!parse(&input), "random bytes are no key: {input:02x?}");
    }
    // random bytes behind each CBOR head (every major type and argument size)
    for head in 0..=u8::MAX {
        for _ in 0..20 {
            let len = (rng.next() % 24) as usize;
            let mut input = vec![head];
            input.extend(rng.fill(len));
            assert!(!parse(&input), "no key: {input:02x?}");
        }
    }
}

#[test]
fn every_truncation_and_bit_flip_of_a_key_is_answered() {
    let mut rng = Bytes(0x0123_4567_89ab_cdef);
    for _ in 0..8 {
        let key = cose_key(&mut rng);
        parse(&key);
        for end in 0..key.len() {
            assert!(!parse(&key[..end]), "a truncated key is refused at {end}");
        }
        let mut longer = key.clone();
        longer.push(0x00);
        assert!(!parse(&longer), "bytes after the key are refused");
        for bit in 0..key.len() * 8 {
            let mut flipped = key.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            parse(&flipped);
        }
    }
}

#[test]
fn hostile_shapes_are_refused() {
    let deep_arrays = vec![0x81; 100_000];
    let deep_maps: Vec<u8> = std::iter::repeat_n([0xa1, 0x01], 50_000)
        .flatten()
        .collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("nested arrays 100 000 deep", deep_arrays),
        ("nested maps 50 000 deep", deep_maps),
        ("an indefinite array", vec![0x9f, 0x01, 0xff]),
        ("an indefinite map", vec![0xbf, 0x01, 0x02, 0xff]),
        ("an indefinite byte string", vec![0x5f, 0x41, 0x00, 0xff]),
        (
            "a byte string claiming 2^64-1 bytes",
            vec![0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ),
        (
            "a text string claiming 2^32 bytes",
            vec![0x7b, 0, 0, 0, 1, 0, 0, 0, 0],
        ),
        (
            "an array claiming 2^64-1 items",
            vec![0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ),
        (
            "a map claiming 2^32-1 pairs",
            vec![0xba, 0xff, 0xff, 0xff, 0xff],
        ),
        ("a reserved additional value", vec![0x1c]),
        ("a lone break", vec![0xff]),
        ("a tag around nothing", vec![0xc6]),
        ("invalid UTF-8 text", vec![0x62, 0xc3, 0x28]),
        ("an empty input", vec![]),
    ];
    for (what, input) in cases {
        let result = std::panic::catch_unwind(|| PublicKey::from_cose(&input).is_ok());
        assert_eq!(result.ok(), Some(false), "{what}: refused without a panic");
    }
}
