//! Sign-in throttling per account and per client address. After too many failures within the
//! window, further attempts are refused until the lockout passes, whatever the password. Kept in
//! memory: a restart forgives, which is acceptable for a LAN appliance and costs no disk write
//! per failed attempt.

use crate::config::AuthConfig;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Past this many tracked keys, entries with no recent activity are dropped.
const MAX_TRACKED: usize = 10_000;

#[derive(Default)]
struct Entry {
    failures: Vec<Instant>,
    locked_until: Option<Instant>,
}

struct Limiter<K> {
    max_failures: usize,
    window: Duration,
    lockout: Duration,
    entries: Mutex<HashMap<K, Entry>>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    fn new(max_failures: i64, window: Duration, lockout: Duration) -> Self {
        Limiter {
            max_failures: max_failures.max(1) as usize,
            window,
            lockout,
            entries: Mutex::default(),
        }
    }

    fn wait(&self, key: &K, now: Instant) -> Option<Duration> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let until = entries.get(key)?.locked_until?;
        (until > now).then(|| until - now)
    }

    fn fail(&self, key: &K, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_TRACKED {
            let horizon = self.window.max(self.lockout);
            entries.retain(|_, e| {
                e.failures.last().is_some_and(|t| now - *t < horizon)
                    || e.locked_until.is_some_and(|t| t > now)
            });
        }
        let entry = entries.entry(key.clone()).or_default();
        entry.failures.retain(|t| now - *t < self.window);
        entry.failures.push(now);
        if entry.failures.len() >= self.max_failures {
            entry.locked_until = Some(now + self.lockout);
            entry.failures.clear();
        }
    }

    fn clear(&self, key: &K) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

pub struct Throttle {
    accounts: Limiter<String>,
    addresses: Limiter<IpAddr>,
}

impl Throttle {
    pub fn new(config: &AuthConfig) -> Throttle {
        let window = Duration::from_secs(config.failure_window_seconds as u64);
        let lockout = Duration::from_secs(config.lockout_seconds as u64);
        Throttle {
            accounts: Limiter::new(config.max_failures_per_account, window, lockout),
            addresses: Limiter::new(config.max_failures_per_ip, window, lockout),
        }
    }

    /// Seconds the caller must wait before trying again, if locked out.
    pub fn retry_after(&self, username: &str, ip: Option<IpAddr>) -> Option<u64> {
        let now = Instant::now();
        let account = self.accounts.wait(&username.to_lowercase(), now);
        let address = ip.and_then(|ip| self.addresses.wait(&ip, now));
        account
            .max(address)
            .map(|wait| wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
    }

    pub fn record_failure(&self, username: &str, ip: Option<IpAddr>) {
        let now = Instant::now();
        self.accounts.fail(&username.to_lowercase(), now);
        if let Some(ip) = ip {
            self.addresses.fail(&ip, now);
        }
    }

    pub fn record_success(&self, username: &str) {
        self.accounts.clear(&username.to_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_max_failures_then_releases() {
        let limiter = Limiter::new(3, Duration::from_secs(60), Duration::from_secs(30));
        let start = Instant::now();
        for _ in 0..2 {
            limiter.fail(&"a", start);
        }
        assert!(limiter.wait(&"a", start).is_none());
        limiter.fail(&"a", start);
        assert_eq!(limiter.wait(&"a", start), Some(Duration::from_secs(30)));
        assert!(limiter
            .wait(&"a", start + Duration::from_secs(31))
            .is_none());
        assert!(limiter.wait(&"b", start).is_none());
    }

    #[test]
    fn failures_outside_the_window_are_forgotten() {
        let limiter = Limiter::new(2, Duration::from_secs(10), Duration::from_secs(30));
        let start = Instant::now();
        limiter.fail(&"a", start);
        limiter.fail(&"a", start + Duration::from_secs(11));
        assert!(limiter
            .wait(&"a", start + Duration::from_secs(11))
            .is_none());
    }
}
