//! `MethodCache`: the script methods found lately, by class and name, so that a method call
//! (`c.add(i)`) finds its method without hashing into the class's method table.
//!
//! A direct-mapped table of 256 entries in the heap. A class's methods never change after it is
//! made, so an entry stays right for as long as its class lives; the heap clears the table when
//! it finishes marking (`Heap::collect`), before the sweep can free a class and let its slot be
//! reused by another. Method names are interned, and interned strings are never freed.
//! (callgrind, calls 1M: the class lookup had called `HashMap::get`, about 40 instructions a
//! call.)

use crate::object::{Class, Closure, Str};
use crate::value::Handle;

const SIZE: usize = 256;

/// One cached method: `class`'s method `name` is `method`.
#[derive(Clone, Copy)]
struct Entry {
    class: u32,
    name: u32,
    method: Handle<Closure>,
}

/// An entry no lookup matches: no class has this index (slabs hold fewer than 2^32 objects).
const EMPTY: Entry = Entry {
    class: u32::MAX,
    name: u32::MAX,
    method: Handle::new(0),
};

/// See the module documentation.
pub struct MethodCache {
    entries: Box<[Entry; SIZE]>,
}

impl MethodCache {
    /// An empty cache.
    pub fn new() -> MethodCache {
        MethodCache {
            entries: Box::new([EMPTY; SIZE]),
        }
    }

    /// The cached method `name` of `class`.
    #[inline(always)]
    pub fn get(&self, class: Handle<Class>, name: Handle<Str>) -> Option<Handle<Closure>> {
        let entry = self.entries[slot(class, name)];
        (entry.class == class.index() && entry.name == name.index()).then_some(entry.method)
    }

    /// Remembers that `class`'s method `name` is `method`.
    pub fn put(&mut self, class: Handle<Class>, name: Handle<Str>, method: Handle<Closure>) {
        self.entries[slot(class, name)] = Entry {
            class: class.index(),
            name: name.index(),
            method,
        };
    }

    /// Forgets every entry.
    pub fn clear(&mut self) {
        self.entries.fill(EMPTY);
    }
}

impl Default for MethodCache {
    fn default() -> Self {
        MethodCache::new()
    }
}

impl std::fmt::Debug for MethodCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let used = self.entries.iter().filter(|e| e.class != u32::MAX).count();
        write!(f, "MethodCache({used} of {SIZE})")
    }
}

/// The entry of `class` and `name`: the top byte of a multiplicative hash of both.
#[inline(always)]
fn slot(class: Handle<Class>, name: Handle<Str>) -> usize {
    let key = (class.index() as u64) << 32 | name.index() as u64;
    (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_was_put_until_cleared() {
        let mut cache = MethodCache::new();
        let (class, other) = (Handle::new(3), Handle::new(4));
        let (add, sub) = (Handle::new(10), Handle::new(11));
        assert_eq!(cache.get(class, add), None);
        cache.put(class, add, Handle::new(7));
        assert_eq!(cache.get(class, add).map(Handle::index), Some(7));
        assert_eq!(cache.get(class, sub), None, "another name");
        assert_eq!(cache.get(other, add), None, "another class");
        cache.clear();
        assert_eq!(cache.get(class, add), None);
    }

    #[test]
    fn a_colliding_entry_replaces_the_old_one() {
        let mut cache = MethodCache::new();
        let name = Handle::new(1);
        // Among 257 classes two share an entry.
        let classes: Vec<Handle<Class>> = (0..=SIZE as u32).map(Handle::new).collect();
        let (a, b) = classes
            .iter()
            .enumerate()
            .flat_map(|(i, &a)| classes[i + 1..].iter().map(move |&b| (a, b)))
            .find(|&(a, b)| slot(a, name) == slot(b, name))
            .expect("pigeonhole");
        cache.put(a, name, Handle::new(1));
        cache.put(b, name, Handle::new(2));
        assert_eq!(cache.get(a, name), None);
        assert_eq!(cache.get(b, name).map(Handle::index), Some(2));
    }
}
