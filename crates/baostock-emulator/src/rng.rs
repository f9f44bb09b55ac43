//! Small deterministic hashing and random numbers (splitmix64). Everything the market and the
//! fault injector draw comes from here, so one seed gives one market and one fault sequence.

/// One splitmix64 finalisation step: a good 64-bit mixer.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash of two words.
pub fn h2(a: u64, b: u64) -> u64 {
    mix(a ^ mix(b ^ 0x5851_F42D_4C95_7F2D))
}

/// Hash of three words.
pub fn h3(a: u64, b: u64, c: u64) -> u64 {
    mix(h2(a, b) ^ mix(c.wrapping_add(0x632B_E59B_D9B4_E019)))
}

/// A splitmix64 stream.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A stream seeded from a hash.
    pub fn new(seed: u64) -> Rng {
        Rng(mix(seed))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in `0..n` (`n > 0`; 0 gives 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
        }
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo) as u64 + 1) as i64
    }

    /// True with probability `ppm` parts per million.
    pub fn chance_ppm(&mut self, ppm: u64) -> bool {
        self.below(1_000_000) < ppm
    }
}

/// Uniform in `0..n` from a hash value.
pub fn below(hash: u64, n: u64) -> u64 {
    if n == 0 {
        0
    } else {
        ((u128::from(hash) * u128::from(n)) >> 64) as u64
    }
}
