//! A password that never shows up by accident: `Debug`, `Display` and `Serialize`
//! print a mask. The only way to the value is [`Secret::expose`].

use std::fmt;

use serde::{Serialize, Serializer};

/// Length of generated passwords. 32 characters of a 62-letter alphabet: ~190 bits.
const GENERATED_LEN: usize = 32;
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// A fresh password from the operating system's CSPRNG (getrandom), alphanumeric
    /// so it survives every quoting layer an operator may copy it through.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut out = String::with_capacity(GENERATED_LEN);
        // Rejection sampling keeps the distribution uniform: 248 = 4 * 62.
        let mut buf = [0u8; 64];
        while out.len() < GENERATED_LEN {
            getrandom::fill(&mut buf)?;
            for b in buf {
                if b < 248 && out.len() < GENERATED_LEN {
                    out.push(char::from(ALPHABET[usize::from(b % 62)]));
                }
            }
        }
        Ok(Self(out))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"********\"")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("********")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_long_alphanumeric_and_differ() {
        let a = Secret::generate().unwrap();
        let b = Secret::generate().unwrap();
        assert_eq!(a.expose().len(), GENERATED_LEN);
        assert!(a.expose().bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn formatting_never_reveals_the_value() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?} {s}").contains("hunter2"));
        assert!(!serde_json::to_string(&s).unwrap().contains("hunter2"));
    }
}
