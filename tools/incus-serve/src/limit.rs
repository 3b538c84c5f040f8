//! Join-token redemption is rate-limited per source address: a few attempts are free,
//! then each further attempt without a success doubles a wait (up to a minute) during
//! which that address gets 429 at once. The secret is 256 random bits, so this is not
//! what keeps it safe; it keeps a brute force from costing the server a database
//! transaction per guess, and says so in the log.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Attempts an address makes before the waits start.
const FREE_ATTEMPTS: u32 = 3;
/// The first wait; each further attempt doubles it.
const FIRST_WAIT: Duration = Duration::from_millis(250);
const MAX_WAIT: Duration = Duration::from_secs(60);
/// Addresses remembered at once; an entry is forgotten once its wait is over and it
/// has been quiet for `FORGET_AFTER`.
const MAX_ADDRESSES: usize = 4096;
const FORGET_AFTER: Duration = Duration::from_secs(600);

#[derive(Debug)]
struct Entry {
    attempts: u32,
    blocked_until: Instant,
    last: Instant,
}

#[derive(Debug, Default)]
pub struct TokenLimiter {
    by_addr: Mutex<HashMap<IpAddr, Entry>>,
}

impl TokenLimiter {
    /// Counts an attempt from `addr`; `Err(wait)` when it must be refused. The attempt
    /// is counted before it is tried, so parallel guesses are limited too.
    pub fn attempt(&self, addr: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let mut map = self.by_addr.lock().expect("limiter lock");
        if map.len() >= MAX_ADDRESSES && !map.contains_key(&addr) {
            map.retain(|_, e| e.blocked_until > now || now.duration_since(e.last) < FORGET_AFTER);
            if map.len() >= MAX_ADDRESSES {
                // Too many addresses at once: refuse new ones rather than grow.
                return Err(FIRST_WAIT);
            }
        }
        let e = map.entry(addr).or_insert(Entry {
            attempts: 0,
            blocked_until: now,
            last: now,
        });
        if e.blocked_until > now {
            return Err(e.blocked_until - now);
        }
        e.attempts += 1;
        e.last = now;
        if e.attempts > FREE_ATTEMPTS {
            let doublings = (e.attempts - FREE_ATTEMPTS - 1).min(16);
            let wait = FIRST_WAIT.saturating_mul(1 << doublings).min(MAX_WAIT);
            e.blocked_until = now + wait;
            // Logged when throttling starts and when the wait first reaches its cap.
            let first_at_cap = wait == MAX_WAIT
                && FIRST_WAIT * (1 << doublings.saturating_sub(1).min(16)) < MAX_WAIT;
            if doublings == 0 || first_at_cap {
                eprintln!(
                    "incus-serve: {} join-token attempts from {addr} without success: throttling it (429)",
                    e.attempts
                );
            }
        }
        Ok(())
    }

    /// A redemption from `addr` succeeded: its count starts over.
    pub fn success(&self, addr: IpAddr) {
        self.by_addr.lock().expect("limiter lock").remove(&addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_throttled_and_a_success_resets() {
        let l = TokenLimiter::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..FREE_ATTEMPTS {
            l.attempt(a).unwrap();
        }
        // The fourth attempt is let through and starts the wait; the next is refused.
        l.attempt(a).unwrap();
        let wait = l.attempt(a).unwrap_err();
        assert!(wait <= FIRST_WAIT && wait > Duration::ZERO, "{wait:?}");
        // Another address is not affected.
        l.attempt(b).unwrap();
        l.success(a);
        l.attempt(a).unwrap();
    }
}

/// Open connections per source address; an entry lives while its address has one,
/// so the table is bounded by the global connection cap.
#[derive(Debug)]
pub struct PerAddress {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place in [`PerAddress`], given back on drop.
#[derive(Debug)]
pub struct AddrSlot {
    table: std::sync::Arc<PerAddress>,
    addr: IpAddr,
}

impl PerAddress {
    pub fn new(max: usize) -> std::sync::Arc<PerAddress> {
        std::sync::Arc::new(PerAddress {
            max,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A place for one more connection from `addr`, or None when it has `max` open.
    pub fn take(self: &std::sync::Arc<Self>, addr: IpAddr) -> Option<AddrSlot> {
        let mut open = self.open.lock().expect("connection table lock");
        let n = open.entry(addr).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(AddrSlot {
            table: self.clone(),
            addr,
        })
    }
}

impl Drop for AddrSlot {
    fn drop(&mut self) {
        let mut open = self.table.open.lock().expect("connection table lock");
        if let Some(n) = open.get_mut(&self.addr) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.addr);
            }
        }
    }
}
