//! Warnings: problems an operation met and went past (it still succeeded). Core never
//! prints; it hands a warning here and the front end shows it (the tools as
//! `Warning: ...` on stderr once the command is done, see `incus_cli::run`). The list
//! is per process and bounded, so a long-running server that never reads it does not grow.

use std::sync::Mutex;

const KEPT: usize = 64;

static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Records a warning for the front end.
pub fn push(message: impl Into<String>) {
    let mut w = WARNINGS.lock().unwrap_or_else(|e| e.into_inner());
    if w.len() >= KEPT {
        w.remove(0);
    }
    w.push(message.into());
}

/// The warnings recorded since the last call, oldest first.
pub fn take() -> Vec<String> {
    std::mem::take(&mut *WARNINGS.lock().unwrap_or_else(|e| e.into_inner()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn kept_in_order_and_bounded() {
        for i in 0..100 {
            super::push(format!("w{i}"));
        }
        let w = super::take();
        assert_eq!(w.len(), super::KEPT);
        assert_eq!(w.last().map(String::as_str), Some("w99"));
        assert!(super::take().is_empty());
    }
}
