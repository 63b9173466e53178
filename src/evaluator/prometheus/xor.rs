//! Prometheus' XOR chunk encoding (the TSDB's float chunks, "Gorilla" compression, as
//! `tsdb/chunkenc/xor.go` writes them), decoded.
//!
//! A chunk is a big-endian `u16` sample count, then a bit stream: the first sample's
//! timestamp as a signed varint and its value's 64 bits; the second's timestamp delta as an
//! unsigned varint; each later timestamp as a delta of deltas in the buckets `0`, `10` + 14
//! bits, `110` + 17 bits, `1110` + 20 bits, `1111` + 64 bits; every value after the first as
//! its XOR with the previous one: `0` for the same value, `10` + the meaningful bits within
//! the previous leading and trailing zeros, or `11` + 5 bits of leading zeros + 6 bits of
//! meaningful-bit count (0 meaning 64) + those bits. Timestamps are milliseconds.

/// Why a chunk could not be decoded.
#[derive(Debug, PartialEq, Eq)]
pub struct Corrupt(pub &'static str);

impl Corrupt {
    /// The bytes end before the sample count does.
    pub const CUT: Corrupt = Corrupt("the chunk ends inside a sample");
}

/// A big-endian bit reader. Reads past the end give zeros; [`Bits::check`] tells whether
/// they happened.
struct Bits<'a> {
    data: &'a [u8],
    /// Bits read so far.
    pos: usize,
}

impl Bits<'_> {
    /// The next 64 bits, left-aligned (at least 57 of them from the stream, zeros past its
    /// end).
    #[inline(always)]
    fn peek(&self) -> u64 {
        let i = self.pos >> 3;
        let w = match self.data.get(i..i + 8) {
            Some(b) => u64::from_be_bytes(b.try_into().expect("eight bytes")),
            None => {
                let mut word = [0u8; 8];
                let tail = self.data.get(i..).unwrap_or(&[]);
                word[..tail.len()].copy_from_slice(tail);
                u64::from_be_bytes(word)
            }
        };
        w << (self.pos & 7)
    }

    /// The next `n` bits (1 to 56) as the low bits of a `u64`.
    #[inline(always)]
    fn take(&mut self, n: u32) -> u64 {
        let w = self.peek();
        self.pos += n as usize;
        w >> (64 - n)
    }

    /// The next `n` bits (1 to 64).
    #[inline]
    fn read(&mut self, n: u32) -> u64 {
        if n > 56 {
            let hi = self.take(32);
            hi << (n - 32) | self.take(n - 32)
        } else {
            self.take(n)
        }
    }

    /// An error if the reads went past the end of the stream.
    #[inline]
    fn check(&self) -> Result<(), Corrupt> {
        if self.pos > self.data.len() * 8 {
            Err(Corrupt::CUT)
        } else {
            Ok(())
        }
    }

    /// An unsigned LEB128 varint read a byte (8 bits) at a time.
    fn uvarint(&mut self) -> Result<u64, Corrupt> {
        let mut x = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.take(8);
            x |= (b & 0x7f) << shift;
            if b < 0x80 {
                self.check()?;
                return Ok(x);
            }
        }
        Err(Corrupt("a varint longer than 64 bits"))
    }

    /// A zigzag-encoded signed varint.
    fn varint(&mut self) -> Result<i64, Corrupt> {
        let u = self.uvarint()?;
        Ok((u >> 1) as i64 ^ -((u & 1) as i64))
    }
}

/// The XOR state of the value stream.
struct Values {
    bits: u64,
    leading: u32,
    trailing: u32,
}

impl Values {
    #[inline(always)]
    fn next(&mut self, b: &mut Bits) -> Result<f64, Corrupt> {
        let w = b.peek();
        if w >> 63 == 0 {
            // The same value.
            b.pos += 1;
            return Ok(f64::from_bits(self.bits));
        }
        let (leading, meaningful) = if w >> 62 & 1 == 1 {
            let leading = (w >> 57 & 31) as u32;
            let meaningful = match (w >> 51 & 63) as u32 {
                0 => 64,
                m => m,
            };
            if leading + meaningful > 64 {
                return Err(Corrupt("more than 64 bits in a value"));
            }
            b.pos += 13;
            self.leading = leading;
            self.trailing = 64 - leading - meaningful;
            (leading, meaningful)
        } else {
            // The window in use: leading + trailing is at most 63 (a new window has at least
            // one meaningful bit; before any, both are 0, and the whole 64 bits are read).
            b.pos += 2;
            (self.leading, 64 - self.leading - self.trailing)
        };
        self.bits ^= b.read(meaningful) << (64 - leading - meaningful);
        Ok(f64::from_bits(self.bits))
    }
}

/// Decodes one chunk, calling `each(timestamp_ms, value)` for its samples in order; returns
/// how many there were.
#[inline(always)]
pub fn decode(chunk: &[u8], mut each: impl FnMut(i64, f64)) -> Result<usize, Corrupt> {
    let Some((count, stream)) = chunk.split_first_chunk::<2>() else {
        return Err(Corrupt("a chunk shorter than its header"));
    };
    let n = usize::from(u16::from_be_bytes(*count));
    if n == 0 {
        return Ok(0);
    }
    let mut b = Bits {
        data: stream,
        pos: 0,
    };
    let mut t = b.varint()?;
    let mut v = Values {
        bits: b.read(64),
        leading: 0,
        trailing: 0,
    };
    b.check()?;
    each(t, f64::from_bits(v.bits));
    if n == 1 {
        return Ok(1);
    }
    let mut delta = b.uvarint()? as i64;
    t = t.wrapping_add(delta);
    let x = v.next(&mut b)?;
    b.check()?;
    each(t, x);
    for _ in 2..n {
        let w = b.peek();
        let ones = (!w).leading_zeros().min(4);
        let dod = if ones == 0 {
            b.pos += 1;
            0
        } else if ones == 4 {
            b.pos += 4;
            b.read(64) as i64
        } else {
            // `10`, `110`, `1110` and then 14, 17 or 20 bits: all within the peeked word.
            let size = [14, 17, 20][ones as usize - 1];
            let raw = (w << (ones + 1) >> (64 - size)) as i64;
            b.pos += (ones + 1 + size) as usize;
            // Negative deltas come back as large unsigned numbers.
            if raw > 1 << (size - 1) {
                raw - (1 << size)
            } else {
                raw
            }
        };
        delta = delta.wrapping_add(dod);
        t = t.wrapping_add(delta);
        let x = v.next(&mut b)?;
        b.check()?;
        each(t, x);
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chunks of one sample: a signed varint timestamp and the value's 64 bits, ending on a
    /// byte boundary (no padding).
    #[test]
    fn one_sample_chunks_with_signed_timestamps_end_on_a_byte() {
        for (zigzag, t) in [(0x00u8, 0i64), (0x09, -5), (0x01, -1), (0x0a, 5)] {
            let mut chunk = vec![0, 1, zigzag];
            chunk.extend(1.5f64.to_bits().to_be_bytes());
            let mut got = Vec::new();
            assert_eq!(decode(&chunk, |t, v| got.push((t, v))), Ok(1));
            assert_eq!(got, [(t, 1.5)]);
            // One byte less is a cut.
            assert_eq!(
                decode(&chunk[..chunk.len() - 1], |_, _| {}),
                Err(Corrupt::CUT)
            );
        }
        assert_eq!(decode(&[0, 0], |_, _| panic!("no sample")), Ok(0));
    }

    /// Bits written as text ('0' and '1'; other characters ignored), packed into bytes.
    fn pack(bits: &str) -> Vec<u8> {
        let bits: Vec<u8> = bits.bytes().filter(|b| b"01".contains(b)).collect();
        bits.chunks(8)
            .map(|c| {
                c.iter()
                    .enumerate()
                    .fold(0u8, |byte, (i, b)| byte | (b - b'0') << (7 - i))
            })
            .collect()
    }

    /// Deltas of deltas at the 14-bit bucket's edges: +8192 (its largest, which reads as
    /// positive) and -8191 (its smallest).
    #[test]
    fn the_14_bit_bucket_holds_8192_and_minus_8191() {
        let bits = format!(
            "00000000 {:064b} 11101000 00000111 0 10 10000000000000 0 10 10000000000001 0",
            2.5f64.to_bits()
        );
        let mut chunk = vec![0, 4];
        chunk.extend(pack(&bits));
        let mut got = Vec::new();
        assert_eq!(decode(&chunk, |t, v| got.push((t, v))), Ok(4));
        assert_eq!(got, [(0, 2.5), (1000, 2.5), (10_192, 2.5), (11_193, 2.5)]);
    }

    /// A second value in a new bit window of 2 leading zeros and 40 meaningful bits (22
    /// trailing), and one whose window would pass 64 bits.
    #[test]
    fn a_new_bit_window_is_read_and_one_past_64_bits_refused() {
        let head = format!("00000000 {:064b} 00000001", 1.5f64.to_bits());
        let meaningful = format!("1{}1", "0".repeat(38));
        let mut chunk = vec![0, 2];
        chunk.extend(pack(&format!("{head} 11 00010 101000 {meaningful}")));
        let mut got = Vec::new();
        assert_eq!(decode(&chunk, |t, v| got.push((t, v.to_bits()))), Ok(2));
        let xor = 1u64 << 61 | 1 << 22;
        assert_eq!(got, [(0, 1.5f64.to_bits()), (1, 1.5f64.to_bits() ^ xor)]);
        // 31 leading zeros and 64 meaningful bits: corrupt.
        let mut bad = vec![0, 2];
        bad.extend(pack(&format!("{head} 11 11111 000000 {}", "1".repeat(64))));
        assert_eq!(
            decode(&bad, |_, _| {}),
            Err(Corrupt("more than 64 bits in a value"))
        );
        assert!(decode(&[0], |_, _| {}).is_err());
    }
}
