//! One error type for the whole project: a kind (which fixes the exit code and the
//! HTTP status) and a message that is shown to the user as is.

use std::fmt;

/// What went wrong, coarsely; each kind maps to one exit code and one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A bug or an unexpected failure of the host (exit 1, HTTP 500).
    Internal,
    /// Bad command line (exit 2, HTTP 400).
    Usage,
    /// The object does not exist (exit 3, HTTP 404).
    NotFound,
    /// The object already exists, or is in use (exit 4, HTTP 409).
    Conflict,
    /// A lock could not be taken in time (exit 5, HTTP 503).
    Busy,
    /// Not allowed (exit 6, HTTP 403).
    Forbidden,
    /// Invalid input or wrong state for the operation (exit 7, HTTP 400).
    Invalid,
    /// This host cannot do it (exit 8, HTTP 501).
    Unsupported,
}

impl ErrorKind {
    /// The process exit code for this kind (the table of docs/architecture.md).
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Internal => 1,
            ErrorKind::Usage => 2,
            ErrorKind::NotFound => 3,
            ErrorKind::Conflict => 4,
            ErrorKind::Busy => 5,
            ErrorKind::Forbidden => 6,
            ErrorKind::Invalid => 7,
            ErrorKind::Unsupported => 8,
        }
    }

    /// The HTTP status the REST server answers with for this kind.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::Internal => 500,
            ErrorKind::Usage | ErrorKind::Invalid => 400,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::Busy => 503,
            ErrorKind::Forbidden => 403,
            ErrorKind::Unsupported => 501,
        }
    }

    /// Inverse of [`ErrorKind::http_status`], used by the remote client.
    pub fn from_http_status(status: u16) -> Self {
        match status {
            400 | 412 => ErrorKind::Invalid,
            403 | 401 => ErrorKind::Forbidden,
            404 => ErrorKind::NotFound,
            409 => ErrorKind::Conflict,
            503 => ErrorKind::Busy,
            501 => ErrorKind::Unsupported,
            _ => ErrorKind::Internal,
        }
    }
}

/// An error with a kind and a user-facing message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }
    pub fn internal(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, m)
    }
    pub fn usage(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::Usage, m)
    }
    pub fn not_found(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, m)
    }
    pub fn conflict(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, m)
    }
    pub fn busy(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::Busy, m)
    }
    pub fn forbidden(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, m)
    }
    pub fn invalid(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, m)
    }
    pub fn unsupported(m: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, m)
    }
    /// Prefix the message with context, keeping the kind.
    pub fn context(self, ctx: impl fmt::Display) -> Self {
        Error {
            kind: self.kind,
            message: format!("{ctx}: {}", self.message),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        let kind = match e.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            std::io::ErrorKind::PermissionDenied => ErrorKind::Forbidden,
            std::io::ErrorKind::AlreadyExists => ErrorKind::Conflict,
            _ => ErrorKind::Internal,
        };
        Error::new(kind, e.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::invalid(format!("Invalid JSON: {e}"))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds context to any result whose error converts into [`Error`].
pub trait Context<T> {
    fn context(self, ctx: impl fmt::Display) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context(self, ctx: impl fmt::Display) -> Result<T> {
        self.map_err(|e| e.into().context(ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_design_table() {
        let table = [
            (ErrorKind::Internal, 1, 500),
            (ErrorKind::Usage, 2, 400),
            (ErrorKind::NotFound, 3, 404),
            (ErrorKind::Conflict, 4, 409),
            (ErrorKind::Busy, 5, 503),
            (ErrorKind::Forbidden, 6, 403),
            (ErrorKind::Invalid, 7, 400),
            (ErrorKind::Unsupported, 8, 501),
        ];
        for (kind, code, http) in table {
            assert_eq!(kind.exit_code(), code, "{kind:?}");
            assert_eq!(kind.http_status(), http, "{kind:?}");
        }
        assert_eq!(ErrorKind::from_http_status(404), ErrorKind::NotFound);
        assert_eq!(ErrorKind::from_http_status(409), ErrorKind::Conflict);
    }
}
