//! Temporary initial passwords for `initialPassword: Generate`.

use rand::RngExt as _;
use secrecy::SecretString;

const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const DIGITS: &[u8] = b"23456789";
const SYMBOLS: &[u8] = b"!#%+-=?@^_";

/// Length of generated passwords: 24 characters from ~65 symbols is ~144 bits.
pub const LENGTH: usize = 24;

/// A strong random password with at least one lower-case letter, upper-case letter, digit and
/// symbol (LastPass master-password rules), from the operating system's generator.
pub fn generate() -> SecretString {
    let mut rng = rand::rng();
    let all: Vec<u8> = [LOWER, UPPER, DIGITS, SYMBOLS].concat();
    let mut chars: Vec<u8> = [LOWER, UPPER, DIGITS, SYMBOLS]
        .iter()
        .map(|set| set[rng.random_range(0..set.len())])
        .collect();
    while chars.len() < LENGTH {
        chars.push(all[rng.random_range(0..all.len())]);
    }
    // Shuffle so the guaranteed classes are not always first.
    for i in (1..chars.len()).rev() {
        chars.swap(i, rng.random_range(0..=i));
    }
    SecretString::from(String::from_utf8(chars).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    #[test]
    fn passwords_are_long_mixed_and_different() {
        let a = super::generate();
        let b = super::generate();
        let s = a.expose_secret();
        assert_eq!(s.len(), super::LENGTH);
        assert!(s.chars().any(|c| c.is_ascii_lowercase()));
        assert!(s.chars().any(|c| c.is_ascii_uppercase()));
        assert!(s.chars().any(|c| c.is_ascii_digit()));
        assert!(s.chars().any(|c| !c.is_ascii_alphanumeric()));
        assert_ne!(s, b.expose_secret());
        assert!(!format!("{a:?}").contains(s), "Debug is redacted");
    }
}
