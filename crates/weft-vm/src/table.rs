//! `Table`: the insertion-ordered hash table behind Weft maps.
//!
//! Entries live in a vector in insertion order, so iteration is a walk of that vector. Lookups go
//! through buckets: a prime number of chain heads, each the index of the first entry whose key
//! hashes there, the chain going on through `next`. This is Lua's layout for its hash part, and
//! it was chosen over `IndexMap` for two reasons the `map` benchmark measured:
//! - An int hashes to itself and a bucket is the hash modulo a prime, so neighbouring keys land in
//!   neighbouring buckets and `m[i * 31]` walks the buckets in order, where a mixing hash sent
//!   each key to a random cache line. A prime count keeps strided keys (`i * 1024`) apart, and
//!   chaining keeps a lookup of a missing key inside a dense run of ints short (open addressing
//!   would probe to the end of the run).
//! - An entry is 40 bytes plus 4 of chain and about 4 of bucket; an `IndexMap` entry was 48 plus
//!   9 bytes of index per bucket (8-byte indices, the table at most 7/8 full).
//!
//! Maps of up to `SCAN_LIMIT` entries have no buckets and are scanned, as most maps in programs
//! are small records. A removed entry leaves a hole (`None`) so that the rest keep their order; the
//! holes are squeezed out when they outnumber the live entries. Indices are `u32`, so a map holds
//! at most 2^32 - 2 entries (176 GB of entries), which memory runs out long before.

use std::hash::BuildHasher;

use rustc_hash::FxBuildHasher;

use crate::divisor;
use crate::object::Key;
use crate::value::Value;

/// Maps of at most this many entries, holes included, are scanned instead of hashed.
const SCAN_LIMIT: usize = 8;
/// The end of a chain, and an empty bucket.
const END: u32 = u32::MAX;

// A hole costs no more than an entry: `None` is a tag value `Key` does not use.
const _: () = assert!(std::mem::size_of::<Option<(Key, Value)>>() == 40);

/// An insertion-ordered map from `Key` to `Value`.
#[derive(Clone, Default)]
pub struct Table {
    /// The entries in insertion order; `None` is a removed entry's place.
    entries: Vec<Option<(Key, Value)>>,
    /// For each entry, the next entry of its bucket's chain (`END` at the last). Empty, as
    /// `heads` is, while the table is scanned.
    next: Vec<u32>,
    /// For each bucket, the first entry of its chain (`END` when none). The count is a prime.
    heads: Vec<u32>,
    /// `divisor::magic(heads.len())`: the modulo by the bucket count as two multiplications,
    /// not a `div`, on every lookup.
    magic: u64,
    /// The live entries: `entries.len()` less the holes.
    len: usize,
}

impl Table {
    /// An empty table.
    pub fn new() -> Table {
        Table::default()
    }

    /// An empty table with room for `capacity` entries.
    pub fn with_capacity(capacity: usize) -> Table {
        let mut table = Table {
            entries: Vec::with_capacity(capacity),
            ..Table::default()
        };
        if capacity > SCAN_LIMIT {
            table.rebuild(capacity);
        }
        table
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The value for `key`.
    pub fn get(&self, key: &Key) -> Option<&Value> {
        let i = self.find(key)?;
        self.entries[i].as_ref().map(|(_, v)| v)
    }

    /// The value for `key`, to change in place.
    pub fn get_mut(&mut self, key: &Key) -> Option<&mut Value> {
        let i = self.find(key)?;
        self.entries[i].as_mut().map(|(_, v)| v)
    }

    /// Whether `key` has an entry.
    pub fn contains_key(&self, key: &Key) -> bool {
        self.find(key).is_some()
    }

    /// Sets `key` to `value`. A new key goes last; an existing one keeps its place, and its old
    /// value is returned.
    pub fn insert(&mut self, key: Key, value: Value) -> Option<Value> {
        if let Some(old) = self.get_mut(&key) {
            return Some(std::mem::replace(old, value));
        }
        self.push(key, value);
        None
    }

    /// Removes `key`'s entry and returns its value; the other entries keep their order.
    pub fn remove(&mut self, key: &Key) -> Option<Value> {
        let i = if self.heads.is_empty() {
            self.find(key)?
        } else {
            self.unlink(key)?
        };
        let (_, value) = self.entries[i].take()?;
        self.len -= 1;
        let holes = self.entries.len() - self.len;
        if holes > self.len && self.entries.len() > SCAN_LIMIT {
            self.rebuild(self.len);
        }
        Some(value)
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.next.clear();
        self.heads.clear();
        self.len = 0;
    }

    /// The entries in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter(self.entries.iter().flatten())
    }

    /// The keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &Key> + '_ {
        self.iter().map(|(k, _)| k)
    }

    /// The values in order.
    pub fn values(&self) -> impl Iterator<Item = &Value> + '_ {
        self.iter().map(|(_, v)| v)
    }

    /// The index in `entries` of `key`'s entry.
    #[inline]
    fn find(&self, key: &Key) -> Option<usize> {
        if self.heads.is_empty() {
            return self
                .entries
                .iter()
                .position(|e| matches!(e, Some((k, _)) if k == key));
        }
        let mut i = self.heads[self.bucket(key)];
        while i != END {
            let at = i as usize;
            if matches!(&self.entries[at], Some((k, _)) if k == key) {
                return Some(at);
            }
            i = self.next[at];
        }
        None
    }

    /// Takes `key`'s entry out of its chain and returns its index.
    fn unlink(&mut self, key: &Key) -> Option<usize> {
        let bucket = self.bucket(key);
        let (mut prev, mut i) = (END, self.heads[bucket]);
        while i != END {
            let at = i as usize;
            if matches!(&self.entries[at], Some((k, _)) if k == key) {
                let after = self.next[at];
                match prev {
                    END => self.heads[bucket] = after,
                    p => self.next[p as usize] = after,
                }
                return Some(at);
            }
            (prev, i) = (i, self.next[at]);
        }
        None
    }

    /// Appends an entry for a key known to be absent.
    fn push(&mut self, key: Key, value: Value) {
        let full = if self.heads.is_empty() {
            self.entries.len() >= SCAN_LIMIT
        } else {
            self.entries.len() >= self.heads.len()
        };
        if full {
            self.rebuild(self.len + 1);
        }
        if !self.heads.is_empty() {
            let bucket = self.bucket(&key);
            self.next.push(self.heads[bucket]);
            self.heads[bucket] = self.entries.len() as u32;
        }
        self.entries.push(Some((key, value)));
        self.len += 1;
    }

    /// Squeezes out the holes and, unless `want` entries fit the scan, re-chains every entry into
    /// about twice `want` buckets, so that the next `want` insertions need no rebuild.
    fn rebuild(&mut self, want: usize) {
        if self.len < self.entries.len() {
            self.entries.retain(Option::is_some);
        }
        self.next.clear();
        self.heads.clear();
        if want <= SCAN_LIMIT {
            return;
        }
        let count = prime_at_least(want.saturating_mul(2).max(SCAN_LIMIT * 2));
        self.heads.resize(count, END);
        self.magic = divisor::magic(count as u32);
        self.next.reserve(self.entries.capacity());
        // With the holes gone, the n-th live entry is at index n.
        for (i, (key, _)) in self.entries.iter().flatten().enumerate() {
            let bucket = bucket_of(key, self.magic, count);
            self.next.push(self.heads[bucket]);
            self.heads[bucket] = i as u32;
        }
    }

    /// The bucket of `key`.
    #[inline]
    fn bucket(&self, key: &Key) -> usize {
        bucket_of(key, self.magic, self.heads.len())
    }
}

/// The entries of a `Table` in order.
pub struct Iter<'a>(std::iter::Flatten<std::slice::Iter<'a, Option<(Key, Value)>>>);

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a Key, &'a Value);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k, v))
    }
}

/// `key`'s hash modulo `count`, with `magic = divisor::magic(count)`.
#[inline]
fn bucket_of(key: &Key, magic: u64, count: usize) -> usize {
    divisor::fastmod(hash(key), magic, count as u32) as usize
}

/// A key's hash. An int is its own hash, so that neighbouring ints get neighbouring buckets;
/// the other kinds are mixed. The int case is inline and the rest out of line: with the whole
/// match inline the compiler stopped inlining `hash` once strings became `Text` (callgrind, map
/// 100k: 84.9M instructions with the call, 78.6M without).
#[inline(always)]
fn hash(key: &Key) -> u32 {
    let h = match key {
        Key::Int(i) => *i as u64,
        _ => hash_other(key),
    };
    (h ^ (h >> 32)) as u32
}

/// The hash of a key that is not an int.
#[inline(never)]
fn hash_other(key: &Key) -> u64 {
    match key {
        Key::Int(i) => *i as u64,
        Key::Float(bits) => bits.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        Key::Str(s) => FxBuildHasher.hash_one(&**s),
        Key::Nil => 0x517c_c1b7_2722_0a95,
        Key::Bool(b) => 0x2545_f491_4f6c_dd1d ^ *b as u64,
    }
}

/// The smallest prime at or above `n` (and below 2^32, the reach of a bucket index and of
/// `divisor::fastmod`). Trial
/// division is enough: it runs once per rebuild, which touches every entry anyway.
fn prime_at_least(n: usize) -> usize {
    let is_prime = |c: usize| {
        c >= 2
            && (2..)
                .take_while(|d| d * d <= c)
                .all(|d| !c.is_multiple_of(d))
    };
    let mut c = n.min(u32::MAX as usize - 5);
    while !is_prime(c) {
        c += 1;
    }
    c
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a Table {
    type Item = (&'a Key, &'a Value);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl IntoIterator for Table {
    type Item = (Key, Value);
    type IntoIter = std::iter::Flatten<std::vec::IntoIter<Option<(Key, Value)>>>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter().flatten()
    }
}

impl Extend<(Key, Value)> for Table {
    fn extend<I: IntoIterator<Item = (Key, Value)>>(&mut self, items: I) {
        for (key, value) in items {
            self.insert(key, value);
        }
    }
}

impl FromIterator<(Key, Value)> for Table {
    fn from_iter<I: IntoIterator<Item = (Key, Value)>>(items: I) -> Table {
        let mut table = Table::new();
        table.extend(items);
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(i: i64) -> Key {
        Key::Int(i)
    }

    /// The int a value holds, if it is one.
    fn as_int(v: &Value) -> Option<i64> {
        match v {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    fn keys(t: &Table) -> Vec<Key> {
        t.keys().cloned().collect()
    }

    #[test]
    fn keeps_insertion_order_through_updates_and_removals() {
        let mut t = Table::new();
        for i in [5, 3, 9, 1] {
            assert!(t.insert(int(i), Value::Int(i * 10)).is_none());
        }
        assert_eq!(
            t.insert(int(3), Value::Int(0)).as_ref().and_then(as_int),
            Some(30)
        );
        assert_eq!(t.remove(&int(9)).as_ref().and_then(as_int), Some(90));
        assert!(t.remove(&int(9)).is_none());
        t.insert(int(9), Value::Nil);
        assert_eq!(keys(&t), vec![int(5), int(3), int(1), int(9)]);
        assert_eq!(t.len(), 4);
        assert_eq!(t.get(&int(3)).and_then(as_int), Some(0));
    }

    #[test]
    fn grows_past_the_scan_with_every_kind_of_key() {
        let mut t = Table::new();
        let mut expected = Vec::new();
        for i in 0..2000i64 {
            let key = match i % 5 {
                0 => Key::Int(-i),
                1 => Key::Int(i << 40),
                2 => Key::Float((i as f64 + 0.5).to_bits()),
                3 => Key::Str(format!("k{i}").into()),
                _ => Key::Int(i * 1024),
            };
            t.insert(key.clone(), Value::Int(i));
            expected.push(key);
        }
        t.insert(Key::Nil, Value::Int(-1));
        t.insert(Key::Bool(true), Value::Int(-2));
        expected.extend([Key::Nil, Key::Bool(true)]);
        assert_eq!(keys(&t), expected);
        for (i, key) in expected.iter().enumerate().take(2000) {
            assert_eq!(t.get(key).and_then(as_int), Some(i as i64), "{key:?}");
        }
        assert!(!t.contains_key(&Key::Bool(false)));
        assert!(!t.contains_key(&Key::Str("k4".into())));
    }

    #[test]
    fn keys_in_one_bucket_chain_and_unlink() {
        let mut t = Table::with_capacity(100);
        let buckets = t.heads.len() as i64;
        // Every key is a multiple of the bucket count, so all share bucket 0.
        for i in 0..40 {
            t.insert(int(i * buckets), Value::Int(i));
        }
        assert_eq!(t.heads.len() as i64, buckets, "no rebuild yet");
        for i in [0, 17, 39, 5] {
            assert_eq!(
                t.remove(&int(i * buckets)).as_ref().and_then(as_int),
                Some(i)
            );
        }
        for i in 0..40 {
            let found = t.get(&int(i * buckets)).and_then(as_int);
            let removed = [0, 17, 39, 5].contains(&i);
            assert_eq!(found, if removed { None } else { Some(i) });
        }
        assert_eq!(t.len(), 36);
    }

    #[test]
    fn squeezes_out_holes_and_falls_back_to_the_scan() {
        let mut t: Table = (0..1000).map(|i| (int(i), Value::Int(i))).collect();
        for i in 0..995 {
            t.remove(&int(i));
        }
        assert!(
            t.entries.len() < 20,
            "holes squeezed out: {}",
            t.entries.len()
        );
        assert_eq!(keys(&t), (995..1000).map(int).collect::<Vec<_>>());
        t.clear();
        assert!(t.is_empty());
        assert_eq!(t.get(&int(999)).map(as_int), None);
        t.insert(int(1), Value::Nil);
        assert_eq!(keys(&t), vec![int(1)]);
    }

    #[test]
    fn a_copy_is_independent() {
        let mut t: Table = (0..50).map(|i| (int(i), Value::Int(i))).collect();
        let copy = t.clone();
        t.remove(&int(10));
        *t.get_mut(&int(11)).expect("present") = Value::Nil;
        assert_eq!(copy.len(), 50);
        assert_eq!(copy.get(&int(10)).and_then(as_int), Some(10));
        assert_eq!(copy.get(&int(11)).and_then(as_int), Some(11));
        let owned: Vec<(Key, Value)> = copy.into_iter().collect();
        assert_eq!(owned.len(), 50);
    }

    #[test]
    fn primes() {
        assert_eq!(prime_at_least(16), 17);
        assert_eq!(prime_at_least(17), 17);
        assert_eq!(prime_at_least(2_000_000), 2_000_003);
    }
}
