//! Deterministic randomness for the sandbox world.
//!
//! Every record is a pure function of (seed, stream, index), so any page can be produced on its own,
//! in any order, with no state carried between pages: that is what makes a million-order export
//! stream in flat memory and resume from a cursor. The mixer is SplitMix64, written out here so the
//! generated world can never change under us with a dependency upgrade.

/// The SplitMix64 finaliser: a good 64-bit mix of `x`.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A small stream of numbers for one record.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// The stream for record `index` of `stream` in the world of `seed`.
    pub fn new(seed: u64, stream: u64, index: u64) -> Rng {
        Rng(mix(mix(seed ^ stream.rotate_left(32)) ^ index))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_inputs_same_numbers() {
        let a: Vec<u64> = (0..5).map(|i| Rng::new(7, 1, i).next_u64()).collect();
        let b: Vec<u64> = (0..5).map(|i| Rng::new(7, 1, i).next_u64()).collect();
        assert_eq!(a, b);
        assert_ne!(Rng::new(7, 1, 0).next_u64(), Rng::new(8, 1, 0).next_u64());
        assert!((0..1000).all(|i| Rng::new(1, 2, i).below(6) < 6));
    }
}
