//! A small deterministic random number generator for the data generator and fault
//! injection.
//!
//! The same seed must produce the same org on every machine and every release, so the
//! emulator does not depend on a library RNG whose streams may change between versions.
//! SplitMix64 is tiny, fast and statistically good enough for test data; [`Rng::fork`]
//! derives independent streams so each table (and each row) can be generated on its own
//! thread without changing the result.

/// SplitMix64 state.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

/// Mixes a 64-bit value (the SplitMix64 finaliser).
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hashes a label into a 64-bit value (FNV-1a followed by [`mix`]).
pub fn hash_str(label: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in label.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            state: mix(seed ^ 0x9e37_79b9_7f4a_7c15),
        }
    }

    /// An independent stream for `label` (e.g. a table name) derived from `seed`.
    pub fn for_label(seed: u64, label: &str) -> Self {
        Self::new(seed ^ hash_str(label))
    }

    /// An independent stream derived from this one's seed and an index (e.g. a row).
    pub fn fork(&self, index: u64) -> Self {
        Self::new(self.state ^ mix(index.wrapping_add(0x632b_e59b_d9b4_e019)))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.state)
    }

    /// A uniform value in `0..n` (`n` > 0; returns 0 for `n == 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Multiply-shift: unbiased enough for test data and branch-free.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A uniform `usize` in `0..n`.
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// A uniform value in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo) as u64 + 1) as i64
    }

    /// A uniform float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A uniformly chosen element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }

    /// A uniformly chosen string of a non-empty list.
    pub fn pick_str<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.index(items.len())]
    }

    /// An element chosen by weight: `items` holds `(weight, value)` pairs.
    pub fn weighted<'a, T>(&mut self, items: &'a [(u32, T)]) -> &'a T {
        let total: u64 = items.iter().map(|(w, _)| u64::from(*w)).sum();
        let mut x = self.below(total.max(1));
        for (w, v) in items {
            if x < u64::from(*w) {
                return v;
            }
            x -= u64::from(*w);
        }
        &items[items.len() - 1].1
    }

    /// A heavy-tailed size in `min..=max` (log-uniform), for file bodies.
    pub fn log_uniform(&mut self, min: u64, max: u64) -> u64 {
        let (lo, hi) = ((min.max(1)) as f64, (max.max(min + 1)) as f64);
        let v = (lo.ln() + self.unit() * (hi.ln() - lo.ln())).exp();
        (v as u64).clamp(min, max)
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..5)
            .map(|_| 0)
            .scan(Rng::new(7), |r, _: u64| Some(r.next_u64()))
            .collect();
        let b: Vec<u64> = (0..5)
            .map(|_| 0)
            .scan(Rng::new(7), |r, _: u64| Some(r.next_u64()))
            .collect();
        assert_eq!(a, b);
        let mut c = Rng::new(8);
        assert_ne!(a[0], c.next_u64());
        let base = Rng::for_label(1, "Account");
        assert_ne!(base.fork(1).next_u64(), base.fork(2).next_u64());
        assert_eq!(base.fork(3).next_u64(), base.fork(3).next_u64());
    }

    #[test]
    fn bounded_values_stay_in_range() {
        let mut r = Rng::new(1);
        for _ in 0..10_000 {
            assert!(r.below(10) < 10);
            let v = r.range(-3, 3);
            assert!((-3..=3).contains(&v));
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            let s = r.log_uniform(1024, 1 << 20);
            assert!((1024..=1 << 20).contains(&s));
        }
    }
}
