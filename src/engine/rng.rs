//! Random streams, one per (seed, replication, component, purpose).
//!
//! Two kinds of draw:
//! - **Sequential** streams ([`stream`]) for what happens in a fixed order whatever the design
//!   does: the gaps between arrivals, a balancer's coin flips.
//! - **Keyed** draws ([`Stream::at`]) for what belongs to one request: a service time, an
//!   error, a cache key. The draw for request `r` at call site `p`, attempt `a`, is a pure
//!   function of `(stream, r, p, a)`: a counter-based generator. So routing, balancer or
//!   replica-count changes never reshuffle which request gets which draw, and two runs that
//!   differ only in those are paired (common random numbers).
//!
//! Each component draws from its own streams, so changing one service's parameters (and so
//! how many numbers it draws) leaves every other component's draws unchanged.

use rand::SeedableRng;
use siphasher::sip::SipHasher24;
use std::hash::Hasher;

/// The generator of sequential streams: small, fast, the same sequence on every platform.
pub type Rng = rand_xoshiro::Xoshiro256PlusPlus;

/// The generator behind one keyed draw: SplitMix64 started at a hash of the draw's key. It
/// passes BigCrush, costs one add and a mix per number, and needs no setup, which is what a
/// generator built afresh for every draw must have.
pub type DrawRng = rand_xoshiro::SplitMix64;

/// The key of a stream: a 64-bit hash of `(seed, replication, component, purpose)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stream(u64);

impl Stream {
    /// The inputs are hashed as explicit little-endian bytes (with length prefixes for the
    /// strings), never through `std::hash::Hash`, so the derivation is stable across
    /// platforms and compiler versions.
    pub fn new(seed: u64, replication: u32, component: &str, purpose: &str) -> Stream {
        let mut hasher = SipHasher24::new_with_keys(0x6361_7073_696d_0001, 0x7374_7265_616d_0002);
        hasher.write(&seed.to_le_bytes());
        hasher.write(&replication.to_le_bytes());
        for part in [component, purpose] {
            hasher.write(&(part.len() as u64).to_le_bytes());
            hasher.write(part.as_bytes());
        }
        Stream(hasher.finish())
    }

    /// The generator for the draw indexed by `(request, site, attempt)`.
    ///
    /// One mix spreads the request over all 64 bits; the site (itself a hash of the call
    /// path) and the attempt are folded in, and SplitMix64 mixes its state again before every
    /// number it returns, so draws for neighbouring indices are unrelated.
    #[inline]
    pub fn at(self, request: u64, site: u64, attempt: u32) -> DrawRng {
        DrawRng::seed_from_u64(mix(self.0 ^ request) ^ site ^ u64::from(attempt))
    }

    /// A sequential generator on this stream.
    pub fn sequential(self) -> Rng {
        Rng::seed_from_u64(self.0)
    }
}

/// Derives the sequential stream for one purpose of one component in one replication.
pub fn stream(seed: u64, replication: u32, component: &str, purpose: &str) -> Rng {
    Stream::new(seed, replication, component, purpose).sequential()
}

/// The SplitMix64 finalizer (Stafford's Mix13): a bijection of u64 with full avalanche, so
/// chained inputs that differ in one bit give unrelated keys.
#[inline]
pub fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng as _;

    #[test]
    fn streams_differ_by_every_input_and_repeat_for_the_same_inputs() {
        let first = |r: &mut Rng| r.random::<u64>();
        let base = first(&mut stream(7, 0, "api", "service_time"));
        assert_eq!(base, first(&mut stream(7, 0, "api", "service_time")));
        assert_ne!(base, first(&mut stream(8, 0, "api", "service_time")));
        assert_ne!(base, first(&mut stream(7, 1, "api", "service_time")));
        assert_ne!(base, first(&mut stream(7, 0, "db", "service_time")));
        assert_ne!(base, first(&mut stream(7, 0, "api", "error")));
        // Length prefixes keep ("ab", "c") and ("a", "bc") apart.
        assert_ne!(
            first(&mut stream(7, 0, "ab", "c")),
            first(&mut stream(7, 0, "a", "bc"))
        );
    }

    #[test]
    fn keyed_draws_depend_on_every_index_and_nothing_else() {
        let s = Stream::new(7, 0, "api", "service_time");
        let draw = |r: u64, p: u64, a: u32| s.at(r, p, a).random::<u64>();
        assert_eq!(draw(5, 1, 0), draw(5, 1, 0), "a pure function of the key");
        let others = [draw(6, 1, 0), draw(5, 2, 0), draw(5, 1, 1), draw(1, 5, 0)];
        assert!(others.iter().all(|&o| o != draw(5, 1, 0)));
    }

    /// Keyed draws over consecutive requests are uniform: over N = 1e6 draws of a u64's top
    /// bit, the fraction of ones is 0.5 within 5 standard errors (0.0005 each), and
    /// consecutive requests' draws are uncorrelated (|r| < 5 / sqrt(N) = 0.005).
    #[test]
    fn keyed_draws_over_consecutive_requests_look_independent() {
        let s = Stream::new(1, 0, "svc", "service_time");
        let n = 1_000_000u64;
        let u: Vec<f64> = (0..n).map(|r| s.at(r, 0, 0).random::<f64>()).collect();
        let ones = u.iter().filter(|&&x| x >= 0.5).count() as f64 / n as f64;
        assert!((ones - 0.5).abs() < 0.0025, "fraction {ones}");
        let mean = u.iter().sum::<f64>() / n as f64;
        let var = u.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        let cov = u
            .windows(2)
            .map(|w| (w[0] - mean) * (w[1] - mean))
            .sum::<f64>()
            / n as f64;
        assert!((cov / var).abs() < 0.005, "lag-1 correlation {}", cov / var);
    }
}
