//! The `random` module: a seedable xoshiro256** generator, one per thread, seeded from the clock
//! until `random.seed(n)` is called.

use std::cell::Cell;

use super::args::{arg_count, check_int, check_list};
use crate::error::{raise, type_error, value_error, VmResult};
use crate::value::Value;
use crate::vm::Vm;

/// Installs the `random` module.
pub fn install(vm: &mut Vm) {
    let members = vec![
        ("seed", vm.native("random.seed", seed)),
        ("random", vm.native("random.random", random)),
        ("int", vm.native("random.int", int)),
        ("float", vm.native("random.float", float)),
        ("choice", vm.native("random.choice", choice)),
        ("shuffle", vm.native("random.shuffle", shuffle)),
    ];
    vm.register_module("random", members);
}

/// xoshiro256** state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rng {
    s: [u64; 4],
}

fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator whose whole sequence is determined by `seed`.
    pub fn from_seed(seed: u64) -> Rng {
        let mut x = seed;
        Rng {
            s: [
                splitmix64(&mut x),
                splitmix64(&mut x),
                splitmix64(&mut x),
                splitmix64(&mut x),
            ],
        }
    }

    /// A generator seeded from the clock and the address of a stack value.
    fn from_entropy() -> Rng {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let local = 0u8;
        let addr = &local as *const u8 as u64;
        Rng::from_seed(nanos ^ addr.rotate_left(32))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A float in [0, 1) with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform integer in `0..n` (`n > 0`), without modulo bias.
    pub fn below(&mut self, n: u64) -> u64 {
        // Lemire's multiply-and-reject.
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = (self.next_u64() as u128) * (n as u128);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// A uniform integer in `lo..=hi` (`lo <= hi`).
    pub fn between(&mut self, lo: i64, hi: i64) -> i64 {
        let span = (hi as i128 - lo as i128 + 1) as u128;
        if span > u64::MAX as u128 {
            return self.next_u64() as i64;
        }
        (lo as i128 + self.below(span as u64) as i128) as i64
    }
}

thread_local! {
    static RNG: Cell<Option<Rng>> = const { Cell::new(None) };
}

/// Runs `f` on this thread's generator.
fn with_rng<T>(f: impl FnOnce(&mut Rng) -> T) -> T {
    RNG.with(|cell| {
        let mut rng = cell.get().unwrap_or_else(Rng::from_entropy);
        let result = f(&mut rng);
        cell.set(Some(rng));
        result
    })
}

/// `seed(n)`: restarts the sequence; the same seed gives the same numbers.
fn seed(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("random.seed", args, 1, 1)?;
    let n = check_int(vm, "random.seed", args[0])?;
    RNG.with(|cell| cell.set(Some(Rng::from_seed(n as u64))));
    Ok(Value::Nil)
}

/// `random()`: a float in [0, 1).
fn random(_vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("random.random", args, 0, 0)?;
    Ok(Value::Float(with_rng(Rng::next_f64)))
}

/// `int(a, b)`: an int in `a..=b`.
fn int(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("random.int", args, 2, 2)?;
    let lo = check_int(vm, "random.int", args[0])?;
    let hi = check_int(vm, "random.int", args[1])?;
    if lo > hi {
        return Err(value_error(format!(
            "random.int() empty range: {lo} > {hi}"
        )));
    }
    Ok(Value::Int(with_rng(|rng| rng.between(lo, hi))))
}

/// `float(a, b)`: a float in [a, b).
fn float(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("random.float", args, 2, 2)?;
    let lo = super::args::check_num(vm, "random.float", args[0])?;
    let hi = super::args::check_num(vm, "random.float", args[1])?;
    if lo
        .partial_cmp(&hi)
        .is_none_or(|o| o == std::cmp::Ordering::Greater)
        || !(hi - lo).is_finite()
    {
        return Err(value_error("random.float() needs finite bounds a <= b"));
    }
    let x = lo + (hi - lo) * with_rng(Rng::next_f64);
    Ok(Value::Float(if x >= hi && hi > lo {
        lo.max(hi - (hi - lo) * f64::EPSILON)
    } else {
        x
    }))
}

/// `choice(xs)`: a random element of a list, a character of a string, or a value of a range.
fn choice(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("random.choice", args, 1, 1)?;
    let empty = || raise("IndexError", "cannot choose from an empty sequence");
    match args[0] {
        Value::List(l) => {
            let n = vm.heap.lists.get(l).len();
            if n == 0 {
                return Err(empty());
            }
            let i = with_rng(|rng| rng.below(n as u64)) as usize;
            Ok(vm.heap.lists.get(l)[i])
        }
        Value::Str(s) => {
            let chars: Vec<char> = vm.heap.str(s).chars().collect();
            if chars.is_empty() {
                return Err(empty());
            }
            let i = with_rng(|rng| rng.below(chars.len() as u64)) as usize;
            Ok(vm.heap.alloc_str(chars[i].to_string()))
        }
        Value::Range(r) => {
            let r = *vm.heap.ranges.get(r);
            if r.start.is_none() || r.end.is_none() {
                return Err(value_error("cannot choose from an open range"));
            }
            let n = r.len();
            if n <= 0 {
                return Err(empty());
            }
            let i = with_rng(|rng| rng.below(n as u64)) as i64;
            Ok(Value::Int(r.nth(i)))
        }
        other => Err(type_error(format!(
            "random.choice() argument must be list, string or range, not {}",
            vm.type_name(other)
        ))),
    }
}

/// `shuffle(xs)`: shuffles a list in place (Fisher-Yates); returns nil.
fn shuffle(vm: &mut Vm, args: &[Value]) -> VmResult<Value> {
    arg_count("random.shuffle", args, 1, 1)?;
    let l = check_list(vm, "random.shuffle", args[0])?;
    let items = vm.heap.lists.get_mut(l);
    with_rng(|rng| {
        for i in (1..items.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    });
    Ok(Value::Nil)
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn same_seed_same_sequence() {
        let mut a = Rng::from_seed(42);
        let mut b = Rng::from_seed(42);
        let xs: Vec<u64> = (0..100).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..100).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        let mut c = Rng::from_seed(43);
        assert_ne!(xs[0], c.next_u64());
    }

    #[test]
    fn known_first_value() {
        // splitmix64 seeding and xoshiro256** are fixed algorithms: pin the sequence so a change
        // to either (which would change every seeded program's output) is noticed.
        let mut rng = Rng::from_seed(0);
        let first = rng.next_u64();
        let mut again = Rng::from_seed(0);
        assert_eq!(first, again.next_u64());
        assert_eq!(first, 0x99ec_5f36_cb75_f2b4);
    }

    #[test]
    fn ranges_are_respected() {
        let mut rng = Rng::from_seed(7);
        let mut seen = [false; 6];
        for _ in 0..10_000 {
            let x = rng.between(-2, 3);
            assert!((-2..=3).contains(&x));
            seen[(x + 2) as usize] = true;
            let f = rng.next_f64();
            assert!((0.0..1.0).contains(&f));
        }
        assert!(seen.iter().all(|s| *s));
        assert_eq!(rng.between(5, 5), 5);
        let _ = rng.between(i64::MIN, i64::MAX);
    }
}
