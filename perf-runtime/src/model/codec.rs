//! The one histogram codec of every file perf-runtime writes and reads
//! (reports, baselines, shard results): HdrHistogram's V2 format with
//! DEFLATE, in base64.
//!
//! Nothing read from a file is trusted: a histogram of a hundred bytes can
//! claim a payload of gigabytes, and hdrhistogram's decoder allocates what
//! the header claims. [`decode`] therefore inflates the payload itself with
//! a bound ([`MAX_DECODED_BYTES`]), checks that the header's lengths match
//! the bytes that are really there and that the precision is the one
//! perf-runtime writes, and only then hands the bytes to hdrhistogram.

use std::io::Read;

use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::{Counter, Histogram};

/// The largest decoded histogram accepted (its V2 payload), 4 MiB: a
/// histogram of 3 significant digits over every value up to `u64::MAX`
/// encodes in under 1 MiB, so this refuses only forged or corrupt data.
pub const MAX_DECODED_BYTES: usize = 4 << 20;

/// The largest base64 text accepted for one histogram.
pub const MAX_ENCODED_CHARS: usize = 8 << 20;

/// The most significant digits accepted; perf-runtime writes 3.
const MAX_SIGFIG: u32 = 3;

const V2_COOKIE: u32 = 0x1c84_9313;
const V2_COMPRESSED_COOKIE: u32 = 0x1c84_9314;
const V2_HEADER: usize = 40;

/// `h` as base64 of HdrHistogram V2 + DEFLATE.
pub(crate) fn encode<T: Counter>(h: &Histogram<T>) -> String {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut bytes)
        .expect("serialising a histogram into memory cannot fail");
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

/// Decodes [`encode`]'s text (the histogram auto-resizes afterwards),
/// refusing anything over the bounds above before allocating for it.
pub(crate) fn decode<T: Counter>(text: &str) -> Result<Histogram<T>, String> {
    if text.len() > MAX_ENCODED_CHARS {
        return Err(format!(
            "a histogram of {} characters is over the limit of {MAX_ENCODED_CHARS}",
            text.len()
        ));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| format!("a histogram is not base64: {e}"))?;
    if bytes.len() < 8 {
        return Err(format!("a histogram of {} bytes is truncated", bytes.len()));
    }
    let plain = match be32(&bytes, 0) {
        V2_COMPRESSED_COOKIE => {
            let claimed = be32(&bytes, 4) as usize;
            let present = bytes.len() - 8;
            if claimed > present {
                return Err(format!(
                    "a histogram claims {claimed} compressed bytes but has {present}"
                ));
            }
            let mut plain = Vec::new();
            flate2::read::ZlibDecoder::new(&bytes[8..8 + claimed])
                .take(MAX_DECODED_BYTES as u64 + 1)
                .read_to_end(&mut plain)
                .map_err(|e| format!("a histogram does not inflate: {e}"))?;
            if plain.len() > MAX_DECODED_BYTES {
                return Err(format!(
                    "a histogram inflates to more than {MAX_DECODED_BYTES} bytes"
                ));
            }
            plain
        }
        V2_COOKIE => bytes,
        other => {
            return Err(format!(
                "a histogram has an unknown format (cookie {other:#x})"
            ))
        }
    };
    if plain.len() < V2_HEADER || be32(&plain, 0) != V2_COOKIE {
        return Err("a histogram's header is truncated or not HdrHistogram V2".into());
    }
    let (claimed, present) = (be32(&plain, 4) as usize, plain.len() - V2_HEADER);
    if claimed != present {
        return Err(format!(
            "a histogram claims a payload of {claimed} bytes but has {present}"
        ));
    }
    let sigfig = be32(&plain, 12);
    if sigfig > MAX_SIGFIG {
        return Err(format!(
            "a histogram with {sigfig} significant digits (perf-runtime writes {MAX_SIGFIG})"
        ));
    }
    let mut h: Histogram<T> = Deserializer::new()
        .deserialize(&mut plain.as_slice())
        .map_err(|e| format!("a histogram does not decode: {e}"))?;
    h.auto(true);
    Ok(h)
}

/// Serde for a latency histogram field: [`encode`]d text, decoded into an
/// auto-resizing histogram.
pub(crate) mod serde_histogram {
    use hdrhistogram::Histogram;
    use serde::de::Error as _;
    use serde::Deserialize;

    pub(crate) fn serialize<S: serde::Serializer>(
        h: &Histogram<u64>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::encode(h))
    }

    pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Histogram<u64>, D::Error> {
        let text = String::deserialize(d)?;
        let h: Histogram<u64> = super::decode(&text).map_err(D::Error::custom)?;
        let mut merged = crate::model::measured::new_histogram();
        merged
            .add(&h)
            .map_err(|e| D::Error::custom(format!("{e:?}")))?;
        Ok(merged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn sample() -> Histogram<u64> {
        let mut h = crate::model::measured::new_histogram();
        for v in [1_000u64, 2_000, 3_000_000, 3_600_000_000_000] {
            h.record(v).unwrap();
        }
        h
    }

    #[test]
    fn round_trip() {
        let h = sample();
        let back: Histogram<u64> = decode(&encode(&h)).unwrap();
        assert_eq!(back, h);
    }

    /// Re-encodes `plain` (a V2 histogram, uncompressed) as V2 + DEFLATE.
    fn deflate(plain: &[u8], claimed_len: Option<u32>) -> String {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(plain).unwrap();
        let body = z.finish().unwrap();
        let mut out = V2_COMPRESSED_COOKIE.to_be_bytes().to_vec();
        out.extend(claimed_len.unwrap_or(body.len() as u32).to_be_bytes());
        out.extend(body);
        base64::engine::general_purpose::STANDARD.encode(out)
    }

    fn plain_of(h: &Histogram<u64>) -> Vec<u8> {
        let mut v = Vec::new();
        hdrhistogram::serialization::V2Serializer::new()
            .serialize(h, &mut v)
            .unwrap();
        v
    }

    #[test]
    fn forged_lengths_are_refused_before_allocating() {
        let mut plain = plain_of(&sample());
        // A payload length field claiming 2 GiB, in a file of ~100 bytes.
        plain[4..8].copy_from_slice(&0x8000_0000u32.to_be_bytes());
        let start = Instant::now();
        let e = decode::<u64>(&deflate(&plain, None)).unwrap_err();
        assert!(e.contains("claims a payload of 2147483648 bytes"), "{e}");
        // The compressed length field too.
        let e = decode::<u64>(&deflate(&plain_of(&sample()), Some(u32::MAX))).unwrap_err();
        assert!(e.contains("claims 4294967295 compressed bytes"), "{e}");
        // More significant digits than perf-runtime writes (a huge counts array).
        let mut plain = plain_of(&sample());
        plain[12..16].copy_from_slice(&5u32.to_be_bytes());
        assert!(decode::<u64>(&deflate(&plain, None))
            .unwrap_err()
            .contains("5 significant digits"));
        // Not a timing target: a generous bound on what took 24 s before.
        assert!(start.elapsed().as_secs() < 5);
    }

    #[test]
    fn a_zip_bomb_is_cut_at_the_bound() {
        let mut plain = plain_of(&sample());
        plain.resize(MAX_DECODED_BYTES * 2, 0);
        let e = decode::<u64>(&deflate(&plain, None)).unwrap_err();
        assert!(e.contains("inflates to more than"), "{e}");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for text in ["", "AAAA", "not base64!", "HIST"] {
            assert!(decode::<u64>(text).is_err(), "{text}");
        }
    }
}
