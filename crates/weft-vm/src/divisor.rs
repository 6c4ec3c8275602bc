//! Division by a constant as multiplication: the `%` and `//` of an int by an int literal
//! (`ModInt`, `FloorDivInt`), and the map table's bucket of a hash.
//!
//! A hardware `div` is the slowest instruction the interpreter runs: in the loop benchmark
//! (`x = (x * 31 + i) % 1000003`) a fifth of perf's samples sat on it, and it lies on the chain
//! every iteration waits for. Lemire's "fastmod" and "fastdiv" (Lemire, Kaser and Kurz, *Faster
//! Remainder by Direct Computation*, 2019) compute the remainder and quotient of a 32-bit
//! number by a 32-bit divisor `d` with two multiplications, from `u64::MAX / d + 1` worked out
//! once. A function's divisors are worked out when it is loaded (`Divisors::of_code`); a number
//! outside `0..2^32`, or a negative divisor, takes the `div` as before.

use weft_compiler::Op;

/// `u64::MAX / d + 1` for a divisor `d` of at least 2: the multiplier of `fastmod`/`fastdiv`.
pub(crate) fn magic(d: u32) -> u64 {
    (u64::MAX / d as u64).wrapping_add(1)
}

/// `x % d`, with `m = magic(d)`; exact for every `x` and `d` of 32 bits.
#[inline(always)]
pub(crate) fn fastmod(x: u32, m: u64, d: u32) -> u32 {
    let low = m.wrapping_mul(x as u64);
    ((low as u128 * d as u128) >> 64) as u32
}

/// `x / d`, with `m = magic(d)` and `d` at least 2; exact for every `x` of 32 bits.
#[inline(always)]
fn fastdiv(x: u32, m: u64) -> u32 {
    ((m as u128 * x as u128) >> 64) as u32
}

/// The positive int divisors of a function's `ModInt` and `FloorDivInt` instructions, each with
/// its multiplier.
#[derive(Debug, Default)]
pub(crate) struct Divisors(Box<[(u32, u64)]>);

impl Divisors {
    /// At most this many divisors a function: the lookup is a linear search, and a function
    /// with more takes the `div` for the rest.
    const MAX: usize = 8;

    /// The divisors `code` uses.
    pub(crate) fn of_code(code: &[Op]) -> Divisors {
        let mut found: Vec<(u32, u64)> = Vec::new();
        for op in code {
            if let Op::ModInt { imm, .. } | Op::FloorDivInt { imm, .. } = *op {
                if imm >= 2
                    && found.len() < Self::MAX
                    && !found.iter().any(|&(d, _)| d == imm as u32)
                {
                    found.push((imm as u32, magic(imm as u32)));
                }
            }
        }
        Divisors(found.into_boxed_slice())
    }

    /// The multiplier of `d`, when it is one of the function's divisors. The search depends on
    /// the instruction only, not on the number divided, so it runs beside the multiplications.
    #[inline(always)]
    fn find(&self, d: i32) -> Option<u64> {
        self.0
            .iter()
            .find(|&&(e, _)| e as i32 == d)
            .map(|&(_, m)| m)
    }

    /// `x % d` (floored, which for these operands is also truncated), or `None` when `x` is
    /// outside `0..2^32` or `d` is not a known divisor.
    #[inline(always)]
    pub(crate) fn rem(&self, x: i64, d: i32) -> Option<i64> {
        let x = u32::try_from(x).ok()?;
        let m = self.find(d)?;
        Some(fastmod(x, m, d as u32) as i64)
    }

    /// `x // d`, as for `rem`.
    #[inline(always)]
    pub(crate) fn quot(&self, x: i64, d: i32) -> Option<i64> {
        let x = u32::try_from(x).ok()?;
        let m = self.find(d)?;
        Some(fastdiv(x, m) as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Divisors and numbers around every edge: small, prime, powers of two and their
    /// neighbours, and the top of the 32-bit range.
    fn samples() -> Vec<u32> {
        let mut v = vec![
            0,
            1,
            2,
            3,
            7,
            10,
            31,
            1000,
            1_000_003,
            u32::MAX - 1,
            u32::MAX,
        ];
        for s in 1..32 {
            v.extend([(1u32 << s) - 1, 1 << s, (1u32 << s).wrapping_add(1)]);
        }
        let mut x: u32 = 12345;
        for _ in 0..200 {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            v.push(x);
        }
        v
    }

    #[test]
    fn fastmod_and_fastdiv_are_exact() {
        let xs = samples();
        for &d in xs.iter().filter(|&&d| d >= 2) {
            let m = magic(d);
            for &x in &xs {
                assert_eq!(fastmod(x, m, d), x % d, "{x} % {d}");
                assert_eq!(fastdiv(x, m), x / d, "{x} / {d}");
            }
        }
    }

    #[test]
    fn only_known_divisors_and_numbers_in_range_take_the_fast_path() {
        let code = [
            Op::ModInt {
                dst: 0,
                src: 1,
                imm: 10,
            },
            Op::FloorDivInt {
                dst: 0,
                src: 1,
                imm: 7,
            },
            Op::ModInt {
                dst: 0,
                src: 1,
                imm: -3,
            },
            Op::ModInt {
                dst: 0,
                src: 1,
                imm: 1,
            },
        ];
        let divisors = Divisors::of_code(&code);
        assert_eq!(divisors.rem(1234, 10), Some(4));
        assert_eq!(divisors.quot(1234, 7), Some(176));
        assert_eq!(divisors.rem(1234, 7), Some(2));
        assert_eq!(
            divisors.rem(-1, 10),
            None,
            "negative: floored by the general path"
        );
        assert_eq!(divisors.rem(1 << 32, 10), None);
        assert_eq!(divisors.rem(5, -3), None);
        assert_eq!(divisors.rem(5, 1), None);
        assert_eq!(divisors.rem(5, 9), None, "not in the code");
    }
}
