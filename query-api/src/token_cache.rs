//! [`TokenCache`]: the process's bounded cache of token lookups, so a request does not pay
//! a ClickHouse round trip (`api_tokens FINAL`) before its real query. It only stores and
//! expires answers; `auth` looks tokens up through it ([`crate::AppState::principal`]).
//!
//! - Key: the token's SHA-256 (32 bytes); the plaintext token is never kept.
//! - Value: the lookup's answer, `Some(principal)` or `None` (unknown or revoked): negative
//!   answers are cached too, so a client repeating a bad token costs one lookup per TTL.
//! - Bounded: at most `auth.token_cache_max_entries` entries (moka's TinyLFU admission and
//!   LRU eviction: a flood of random tokens, each seen once, is mostly refused admission
//!   and does not push out the tokens in use).
//! - Every entry expires `auth.token_cache_ttl_ms` after it was stored (default 5 s; 0
//!   turns the cache off). That TTL is how long a revocation made elsewhere (`query-api
//!   token revoke`, another instance) may take to reach this process: instances do not
//!   talk to each other. [`TokenCache::forget`] drops a token at once in this process
//!   ([`crate::AppState::revoke_token`]).
//! - A failed lookup (ClickHouse unreachable) is never stored: the next request asks again.
//! - A malformed token (not `sqa_` + 64 characters) is refused without a lookup, and not
//!   stored.
//!
//! A lookup that started before a [`TokenCache::forget`] and ends after it does not store
//! its (possibly stale) answer: every forget bumps a generation, and a lookup stores only
//! when the generation it started under is still current after it stored.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use moka::sync::Cache;
use prometheus_client::metrics::counter::Counter;
use sha2::{Digest, Sha256};

use crate::principal::Principal;

/// SHA-256 of a token: the cache's key, and (hex) what `api_tokens` stores.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether `token` has the shape of a token (`sqa_` + 64 characters): anything else is
/// unknown without asking ClickHouse.
pub fn well_formed(token: &str) -> bool {
    token.starts_with("sqa_") && token.len() == 68
}

/// The process's cache of token lookups (see the module's documentation).
pub struct TokenCache {
    /// `None` when the TTL is 0 (every request looks its token up).
    entries: Option<Cache<[u8; 32], Option<Principal>>>,
    /// Bumped by every [`TokenCache::forget`].
    generation: AtomicU64,
    hits: Counter,
    misses: Counter,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("enabled", &self.entries.is_some())
            .field("entries", &self.entry_count())
            .finish()
    }
}

impl TokenCache {
    /// A cache whose entries live `ttl` (zero: no cache), of at most `max_entries`
    /// entries, counting its answers in `hits` and `misses`.
    pub fn new(ttl: Duration, max_entries: u64, hits: Counter, misses: Counter) -> Self {
        let entries = (!ttl.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(max_entries)
                .time_to_live(ttl)
                .build()
        });
        Self {
            entries,
            generation: AtomicU64::new(0),
            hits,
            misses,
        }
    }

    /// Whether answers are cached (the TTL is not 0).
    pub fn enabled(&self) -> bool {
        self.entries.is_some()
    }

    /// The principal of `token`: from the cache, or else from `load` (given the token's hex
    /// SHA-256), whose answer is stored unless it failed. A malformed token is `None`
    /// without calling `load`.
    pub async fn principal<F, Fut, E>(&self, token: &str, load: F) -> Result<Option<Principal>, E>
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = Result<Option<Principal>, E>>,
    {
        if !well_formed(token) {
            return Ok(None);
        }
        let key = token_digest(token);
        let Some(entries) = &self.entries else {
            return load(hex::encode(key)).await;
        };
        if let Some(answer) = entries.get(&key) {
            self.hits.inc();
            return Ok(answer);
        }
        self.misses.inc();
        let generation = self.generation.load(Ordering::SeqCst);
        let answer = load(hex::encode(key)).await?;
        entries.insert(key, answer.clone());
        // A forget that ran meanwhile may have scanned before this insert: undo it. One
        // that runs after this check scans after the insert and finds it.
        if self.generation.load(Ordering::SeqCst) != generation {
            entries.invalidate(&key);
        }
        Ok(answer)
    }

    /// Drops every entry of the token `token_id` at once (after a revocation through this
    /// process), and keeps lookups in flight from storing what they read before it.
    pub fn forget(&self, token_id: &str) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let Some(entries) = &self.entries else {
            return;
        };
        let keys: Vec<[u8; 32]> = entries
            .iter()
            .filter(|(_, answer)| answer.as_ref().is_some_and(|p| p.token_id == token_id))
            .map(|(key, _)| *key)
            .collect();
        for key in keys {
            entries.invalidate(&key);
        }
    }

    /// Entries held now (approximate: moka counts lazily).
    pub fn entry_count(&self) -> u64 {
        self.entries.as_ref().map_or(0, Cache::entry_count)
    }

    /// Runs moka's pending housekeeping (evictions): for tests that count entries.
    pub fn run_pending_tasks(&self) {
        if let Some(entries) = &self.entries {
            entries.run_pending_tasks();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    use super::*;
    use crate::principal::Role;

    fn principal(id: &str) -> Principal {
        Principal {
            token_id: id.to_owned(),
            tenant_id: "t".to_owned(),
            role: Role::Viewer,
            profiles: None,
        }
    }

    fn token(n: u32) -> String {
        format!("sqa_{n:064x}")
    }

    fn cache(ttl_ms: u64, max_entries: u64) -> TokenCache {
        TokenCache::new(
            Duration::from_millis(ttl_ms),
            max_entries,
            Counter::default(),
            Counter::default(),
        )
    }

    /// `cache.principal(token)` with a loader that counts its calls and answers `answer`.
    async fn ask(
        cache: &TokenCache,
        token: &str,
        calls: &AtomicUsize,
        answer: Result<Option<Principal>, &'static str>,
    ) -> Result<Option<Principal>, &'static str> {
        cache
            .principal(token, |hash| async move {
                assert_eq!(hash.len(), 64, "the loader gets the hex hash");
                calls.fetch_add(1, Ordering::SeqCst);
                answer
            })
            .await
    }

    #[tokio::test]
    async fn a_second_ask_is_a_hit_positive_or_negative() {
        let c = cache(60_000, 100);
        let calls = AtomicUsize::new(0);
        let known = Ok(Some(principal("tok_a")));
        assert_eq!(ask(&c, &token(1), &calls, known.clone()).await, known);
        assert_eq!(ask(&c, &token(1), &calls, Ok(None)).await, known);
        assert_eq!(ask(&c, &token(2), &calls, Ok(None)).await, Ok(None));
        assert_eq!(ask(&c, &token(2), &calls, known.clone()).await, Ok(None));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!((c.hits.get(), c.misses.get()), (2, 2));
    }

    #[tokio::test]
    async fn errors_are_not_stored() {
        let c = cache(60_000, 100);
        let calls = AtomicUsize::new(0);
        assert_eq!(ask(&c, &token(1), &calls, Err("down")).await, Err("down"));
        let known = Ok(Some(principal("tok_a")));
        assert_eq!(ask(&c, &token(1), &calls, known.clone()).await, known);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn malformed_tokens_are_refused_without_a_lookup() {
        let c = cache(60_000, 100);
        let calls = AtomicUsize::new(0);
        for bad in ["", "sqa_", "abc", &format!("sqa_{}", "0".repeat(65))] {
            let answer = ask(&c, bad, &calls, Ok(Some(principal("x")))).await;
            assert_eq!(answer, Ok(None), "{bad:?}");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        assert_eq!(c.entry_count(), 0);
    }

    #[tokio::test]
    async fn ttl_zero_looks_up_every_time() {
        let c = cache(0, 100);
        assert!(!c.enabled());
        let calls = AtomicUsize::new(0);
        for _ in 0..3 {
            ask(&c, &token(1), &calls, Ok(Some(principal("a"))))
                .await
                .unwrap();
        }
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!((c.hits.get(), c.misses.get()), (0, 0));
        c.forget("a");
    }

    #[tokio::test]
    async fn forget_drops_only_that_tokens_entries() {
        let c = cache(60_000, 100);
        let calls = AtomicUsize::new(0);
        ask(&c, &token(1), &calls, Ok(Some(principal("a"))))
            .await
            .unwrap();
        ask(&c, &token(2), &calls, Ok(Some(principal("b"))))
            .await
            .unwrap();
        ask(&c, &token(3), &calls, Ok(None)).await.unwrap();
        c.forget("a");
        assert_eq!(ask(&c, &token(1), &calls, Ok(None)).await, Ok(None));
        assert_eq!(calls.load(Ordering::SeqCst), 4, "a was looked up again");
        ask(&c, &token(2), &calls, Ok(None)).await.unwrap();
        ask(&c, &token(3), &calls, Ok(None)).await.unwrap();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            4,
            "b and the unknown token stay"
        );
    }

    #[tokio::test]
    async fn a_lookup_in_flight_during_forget_is_not_stored() {
        let c = Arc::new(cache(60_000, 100));
        let calls = AtomicUsize::new(0);
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
        let slow = {
            let c = Arc::clone(&c);
            tokio::spawn(async move {
                c.principal(&token(1), |_| async move {
                    started_tx.send(()).unwrap();
                    go_rx.await.unwrap();
                    Ok::<_, ()>(Some(principal("a")))
                })
                .await
            })
        };
        started_rx.await.unwrap();
        c.forget("a");
        go_tx.send(()).unwrap();
        assert_eq!(slow.await.unwrap(), Ok(Some(principal("a"))));
        assert_eq!(ask(&c, &token(1), &calls, Ok(None)).await, Ok(None));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "the stale answer was not kept"
        );
    }

    #[tokio::test]
    async fn the_size_is_bounded() {
        let c = cache(60_000, 50);
        let calls = AtomicUsize::new(0);
        for n in 0..2_000 {
            ask(&c, &token(n), &calls, Ok(None)).await.unwrap();
        }
        c.run_pending_tasks();
        assert!(c.entry_count() <= 50, "{}", c.entry_count());
    }

    #[tokio::test]
    async fn entries_expire() {
        let c = cache(50, 100);
        let calls = AtomicUsize::new(0);
        ask(&c, &token(1), &calls, Ok(Some(principal("a"))))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(ask(&c, &token(1), &calls, Ok(None)).await, Ok(None));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
