//! A small error type: a human-readable message, nothing else.

use std::fmt;

/// An error with a message meant for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    msg: String,
}

/// Result alias used throughout the stand-in.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(msg: impl Into<String>) -> Self {
        Self { msg: msg.into() }
    }

    /// Prefixes the message with some context, like Go's `errors.Wrap`.
    #[must_use]
    pub fn context(self, ctx: impl fmt::Display) -> Self {
        Self {
            msg: format!("{ctx}: {}", self.msg),
        }
    }

    pub fn message(&self) -> &str {
        &self.msg
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for Error {}

/// Shorthand for `Err(Error::new(..))`.
pub fn fail<T>(msg: impl Into<String>) -> Result<T> {
    Err(Error::new(msg))
}
