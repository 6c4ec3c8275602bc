//! `Text`: the characters of a string value or a map key, kept in place when they are short.
//!
//! A text of up to [`INLINE`] bytes lives in the 24 bytes of the `Text` itself; a longer one is
//! an `Rc<str>`, shared between the heap's string and the map keys made from it. Most strings a
//! program makes are short (numbers, names, words, keys), and in place they cost no `malloc`, no
//! `free` when collected and no pointer to follow. Measured (callgrind): the `strings` workload
//! (`str(i)` pushed, joined and counted) 143M -> 105M instructions at 100k and 1,476M -> 1,091M
//! at 1M, peak RSS 114 MB -> 83 MB; 70k updates of a map with string keys 197M -> 158M.
//!
//! The form is canonical: a text that fits in place is always in place. So two texts of
//! different forms are never equal, and equality of two short texts is a compare of their bytes.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::rc::Rc;

/// The longest text kept in place, in bytes (every `i64` in decimal fits: 20 bytes).
pub const INLINE: usize = 21;

/// Immutable UTF-8 text, in place when short, else shared.
#[derive(Clone)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    /// `bytes[..len]` is the text; the rest is zero.
    Inline {
        len: u8,
        ascii: bool,
        bytes: [u8; INLINE],
    },
    /// Longer than `INLINE` bytes.
    Shared { ascii: bool, text: Rc<str> },
}

impl Text {
    /// The longest text kept in place, in bytes: a longer one costs an allocation.
    pub const INLINE: usize = INLINE;

    /// The text of `s`, copied.
    pub fn new(s: &str) -> Text {
        Text::inline(s).unwrap_or_else(|| Text::shared(Rc::from(s)))
    }

    /// `text`, which is longer than `INLINE` bytes, shared.
    fn shared(text: Rc<str>) -> Text {
        Text(Repr::Shared {
            ascii: text.is_ascii(),
            text,
        })
    }

    /// `s` in place, if it fits.
    fn inline(s: &str) -> Option<Text> {
        if s.len() > INLINE {
            return None;
        }
        let mut bytes = [0; INLINE];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        Some(Text(Repr::Inline {
            len: s.len() as u8,
            ascii: s.is_ascii(),
            bytes,
        }))
    }

    /// The text as a `str`.
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline { len, bytes, .. } => {
                debug_assert!(std::str::from_utf8(&bytes[..*len as usize]).is_ok());
                // SAFETY: `bytes[..len]` was copied from a `str` whole (see `Text::inline`), so
                // it is UTF-8 and `len <= INLINE`; nothing else writes them.
                unsafe { std::str::from_utf8_unchecked(bytes.get_unchecked(..*len as usize)) }
            }
            Repr::Shared { text, .. } => text,
        }
    }

    /// All characters are ASCII, so a byte index is a character index.
    #[inline]
    pub fn is_ascii(&self) -> bool {
        match self.0 {
            Repr::Inline { ascii, .. } | Repr::Shared { ascii, .. } => ascii,
        }
    }

    /// Number of characters.
    pub fn char_len(&self) -> usize {
        if self.is_ascii() {
            self.len()
        } else {
            self.chars().count()
        }
    }

    /// The text as an `Rc<str>`: shared when it is one, else copied into a new one.
    pub fn to_rc(&self) -> Rc<str> {
        match &self.0 {
            Repr::Inline { .. } => Rc::from(self.as_str()),
            Repr::Shared { text, .. } => text.clone(),
        }
    }
}

/// The empty text.
impl Default for Text {
    fn default() -> Text {
        Text::new("")
    }
}

impl Deref for Text {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self
    }
}

impl PartialEq for Text {
    #[inline]
    fn eq(&self, other: &Text) -> bool {
        match (&self.0, &other.0) {
            // The rest of both buffers is zero, so the whole buffers compare.
            (
                Repr::Inline { len, bytes, .. },
                Repr::Inline {
                    len: other_len,
                    bytes: other_bytes,
                    ..
                },
            ) => len == other_len && bytes == other_bytes,
            (Repr::Shared { text, .. }, Repr::Shared { text: other, .. }) => {
                Rc::ptr_eq(text, other) || text == other
            }
            // Canonical forms: a short text and a long one differ.
            _ => false,
        }
    }
}

impl Eq for Text {}

/// Hashes as the `str` does, so maps keyed by `Text` can be searched with a `&str`.
impl Hash for Text {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text::new(s)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text::new(&s)
    }
}

/// Shares the `Rc` when the text is long, else copies it in place.
impl From<Rc<str>> for Text {
    fn from(s: Rc<str>) -> Text {
        Text::inline(&s).unwrap_or_else(|| Text::shared(s))
    }
}

impl From<&Rc<str>> for Text {
    fn from(s: &Rc<str>) -> Text {
        Text::from(s.clone())
    }
}

impl From<char> for Text {
    fn from(c: char) -> Text {
        Text::new(c.encode_utf8(&mut [0; 4]))
    }
}

impl From<std::borrow::Cow<'_, str>> for Text {
    fn from(s: std::borrow::Cow<'_, str>) -> Text {
        Text::new(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::Key;

    #[test]
    fn texts_and_keys_stay_small() {
        assert_eq!(std::mem::size_of::<Text>(), 24);
        assert_eq!(std::mem::size_of::<Option<Text>>(), 24);
        assert_eq!(std::mem::size_of::<Key>(), 24);
    }

    #[test]
    fn short_texts_are_in_place_and_long_ones_shared() {
        let short = Text::from("-9223372036854775808");
        assert!(matches!(short.0, Repr::Inline { len: 20, .. }));
        assert_eq!(&*short, "-9223372036854775808");
        let edge = Text::from("x".repeat(INLINE));
        assert!(matches!(edge.0, Repr::Inline { .. }));
        let long = Text::from("x".repeat(INLINE + 1));
        assert!(matches!(long.0, Repr::Shared { .. }));
        assert_eq!(long.len(), INLINE + 1);
    }

    #[test]
    fn equality_and_hash_follow_the_characters_whatever_the_source() {
        use std::collections::hash_map::DefaultHasher;
        let hash = |t: &Text| {
            let mut h = DefaultHasher::new();
            t.hash(&mut h);
            h.finish()
        };
        let rc: Rc<str> = Rc::from("héllo");
        for long in [false, true] {
            let s = if long {
                "héllo".repeat(10)
            } else {
                "héllo".into()
            };
            let a = Text::from(s.as_str());
            let b = Text::from(s.clone());
            let c = Text::from(Rc::<str>::from(s.as_str()));
            assert!(a == b && b == c && a == c);
            assert_eq!(hash(&a), hash(&c));
            let mut str_hasher = DefaultHasher::new();
            s.as_str().hash(&mut str_hasher);
            assert_eq!(hash(&a), str_hasher.finish());
            assert!(!a.is_ascii());
            assert_eq!(a.char_len(), s.chars().count());
        }
        assert_eq!(Text::from(&rc), Text::from("héllo"));
        assert_ne!(Text::from("ab"), Text::from("abc"));
        assert_ne!(Text::from("a".repeat(30)), Text::from("b".repeat(30)));
        assert!(Text::from("ascii").is_ascii());
        assert_eq!(Text::from('é').as_str(), "é");
    }

    #[test]
    fn to_rc_shares_a_long_text() {
        let long = Text::from("y".repeat(40));
        assert!(Rc::ptr_eq(&long.to_rc(), &long.to_rc()));
        assert_eq!(&*Text::from("short").to_rc(), "short");
    }
}
