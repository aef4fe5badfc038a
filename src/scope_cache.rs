//! What an isolate remembers about API keys between requests, so that a key seen recently is
//! answered without a database round trip.
//!
//! Two small, bounded maps with one time-to-live:
//! - [`ScopeCache`]: the [`ScopeRow`] a key (or an upload token's key) resolved to, per tenant
//!   named, and the keys that resolved to nothing (so a client retrying a bad key costs no query
//!   each time);
//! - [`SignableCache`]: decrypted bucket credentials, keyed by the stored (encrypted) row, so a
//!   rotated credential is a different entry and never served stale.
//!
//! The TTL is the revocation bound: a revoked key, a removed share or a lowered permission keeps
//! working in an isolate that resolved it for at most `ttl` after that resolution. Nothing here
//! reads a clock or does IO; the caller passes `now_ms`.
//!
//! Every map is bounded. A full map first drops what has expired; if it is still full, the least
//! recently used quarter goes, so a burst of new keys costs the keys in use nothing.

use std::collections::HashMap;
use std::rc::Rc;

use crate::scope::{BucketRow, ScopeRow};
use crate::storage::Signable;
use crate::store::KeyRef;

/// Where a cached answer came from: the key's identity plus the tenant the request named.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    key: KeyId,
    tenant: Option<String>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum KeyId {
    Hash(String),
    Id { key_id: String, project_id: String },
}

impl std::fmt::Debug for KeyId {
    // Key hashes identify keys: they stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Hash(_) => f.write_str("Hash(<redacted>)"),
            Self::Id { key_id, project_id } => write!(f, "Id({key_id}, {project_id})"),
        }
    }
}

impl CacheKey {
    fn new(key: KeyRef<'_>, tenant: Option<&str>) -> Self {
        let key = match key {
            KeyRef::Hash(hash) => KeyId::Hash(hash.to_owned()),
            KeyRef::Id { key_id, project_id } => KeyId::Id {
                key_id: key_id.to_owned(),
                project_id: project_id.to_owned(),
            },
        };
        Self {
            key,
            tenant: tenant.map(str::to_owned),
        }
    }
}

/// A remembered answer.
#[derive(Debug, Clone)]
pub enum Cached {
    /// The key resolved to this scope.
    Known(Rc<ScopeRow>),
    /// No live key matched.
    Unknown,
}

#[derive(Debug)]
struct Entry {
    answer: Cached,
    expires_at_ms: i64,
    /// When it was last put or found, on the cache's own counter.
    used: u64,
}

/// Makes room in a map that reached its capacity: drops the quarter of its entries with the
/// oldest stamps (and any that share the newest of those stamps). Once per quarter of the
/// capacity, so a put costs O(1) amortised and a hit only writes a stamp: no recency list to
/// keep in order.
fn evict_oldest_quarter<K, V>(map: &mut HashMap<K, V>, stamp: impl Fn(&V) -> u64) {
    let stamps: Vec<u64> = map.values().map(&stamp).collect();
    if let Some(cutoff) = oldest_quarter_cutoff(&stamps) {
        map.retain(|_, v| stamp(v) > cutoff);
    }
}

/// The lowest stamp with a quarter of `stamps` (rounded up) at or below it, found by bisecting
/// their range (a few dozen passes over a few thousand stamps) rather than by sorting: a sort
/// would add kilobytes of sorting code to the Worker's bundle for a rare event.
fn oldest_quarter_cutoff(stamps: &[u64]) -> Option<u64> {
    let want = stamps.len().div_ceil(4);
    let (mut low, mut high) = (*stamps.iter().min()?, *stamps.iter().max()?);
    while low < high {
        let mid = low + (high - low) / 2;
        if stamps.iter().filter(|&&s| s <= mid).count() >= want {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    Some(low)
}

/// Resolved scopes and unknown keys, each remembered for `ttl_ms`.
#[derive(Debug)]
pub struct ScopeCache {
    ttl_ms: i64,
    known: HashMap<CacheKey, Entry>,
    unknown: HashMap<CacheKey, Entry>,
    /// Stamps entries in the order they are used.
    clock: u64,
}

impl ScopeCache {
    /// Scopes remembered at most.
    pub const CAPACITY: usize = 4096;
    /// Unknown keys remembered at most. Separate, so a flood of random keys cannot evict the
    /// scopes of real ones.
    pub const UNKNOWN_CAPACITY: usize = 1024;

    /// A cache whose entries live `ttl_secs`; 0 turns it off.
    #[must_use]
    pub fn new(ttl_secs: u32) -> Self {
        Self {
            ttl_ms: i64::from(ttl_secs) * 1000,
            known: HashMap::new(),
            unknown: HashMap::new(),
            clock: 0,
        }
    }

    /// Whether anything is remembered at all.
    #[must_use]
    pub fn enabled(&self) -> bool {
        self.ttl_ms > 0
    }

    /// The answer remembered for `key` naming `tenant`, if it is still fresh at `now_ms`.
    pub fn get(&mut self, key: KeyRef<'_>, tenant: Option<&str>, now_ms: i64) -> Option<Cached> {
        if !self.enabled() {
            return None;
        }
        let k = CacheKey::new(key, tenant);
        self.clock += 1;
        for map in [&mut self.known, &mut self.unknown] {
            if let Some(entry) = map.get_mut(&k) {
                if now_ms < entry.expires_at_ms {
                    entry.used = self.clock;
                    return Some(entry.answer.clone());
                }
                map.remove(&k);
            }
        }
        None
    }

    /// Remembers what `key` naming `tenant` resolved to at `now_ms` (`None`: nothing).
    pub fn put(&mut self, key: KeyRef<'_>, tenant: Option<&str>, row: Option<ScopeRow>, now_ms: i64) -> Cached {
        let answer = row.map_or(Cached::Unknown, |row| Cached::Known(Rc::new(row)));
        if !self.enabled() {
            return answer;
        }
        let (map, capacity) = match answer {
            Cached::Known(_) => (&mut self.known, Self::CAPACITY),
            Cached::Unknown => (&mut self.unknown, Self::UNKNOWN_CAPACITY),
        };
        if map.len() >= capacity {
            map.retain(|_, e| now_ms < e.expires_at_ms);
            if map.len() >= capacity {
                evict_oldest_quarter(map, |e| e.used);
            }
        }
        self.clock += 1;
        map.insert(
            CacheKey::new(key, tenant),
            Entry {
                answer: answer.clone(),
                expires_at_ms: now_ms.saturating_add(self.ttl_ms),
                used: self.clock,
            },
        );
        answer
    }

    /// Entries held (fresh or not yet swept), for tests and diagnostics.
    #[must_use]
    pub fn len(&self) -> usize {
        self.known.len() + self.unknown.len()
    }

    /// Whether nothing is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How many unknown API keys each client (by address) may present, per isolate, before its
/// lookups of keys the isolate does not know are refused without asking the database. Keys are
/// random, so remembering unknown ones does not stop a client that tries a new one each time;
/// this does, while clients that present known keys (and everyone else) are unaffected.
#[derive(Debug, Default)]
pub struct UnknownKeyBudget {
    windows: HashMap<String, (i64, u32)>,
}

impl UnknownKeyBudget {
    /// Unknown keys a client may present per window.
    pub const LIMIT: u32 = 20;
    /// The window, in milliseconds.
    pub const WINDOW_MS: i64 = 60_000;
    /// Clients tracked at most.
    const CAPACITY: usize = 4096;

    /// `Some(seconds to wait)` if `client` used up its budget in the window running at `now_ms`.
    #[must_use]
    pub fn exhausted(&self, client: &str, now_ms: i64) -> Option<u32> {
        let (start, count) = self.windows.get(client)?;
        let left_ms = start + Self::WINDOW_MS - now_ms;
        (left_ms > 0 && *count >= Self::LIMIT).then(|| u32::try_from((left_ms + 999) / 1000).unwrap_or(1))
    }

    /// Counts an unknown key presented by `client` at `now_ms`.
    pub fn record(&mut self, client: &str, now_ms: i64) {
        if let Some((start, count)) = self.windows.get_mut(client) {
            if now_ms < *start + Self::WINDOW_MS {
                *count += 1;
            } else {
                *start = now_ms;
                *count = 1;
            }
            return;
        }
        if self.windows.len() >= Self::CAPACITY {
            self.windows.retain(|_, (start, _)| now_ms < *start + Self::WINDOW_MS);
            if self.windows.len() >= Self::CAPACITY {
                // The windows that started first end first.
                evict_oldest_quarter(&mut self.windows, |(start, _)| u64::try_from(*start).unwrap_or(0));
            }
        }
        self.windows.insert(client.to_owned(), (now_ms, 1));
    }
}

/// Decrypted credentials per stored bucket row. An entry is found only by an identical row
/// (same endpoint, name, region and encrypted credentials), so freshness is the row's: the
/// [`ScopeCache`] or the database decides it.
#[derive(Debug, Default)]
pub struct SignableCache {
    /// Per bucket id: the row, what it decrypted to, and when it was last used.
    entries: HashMap<String, (BucketRow, Rc<Signable>, u64)>,
    clock: u64,
}

impl SignableCache {
    /// Buckets remembered at most.
    const CAPACITY: usize = 256;

    /// The signable bucket for `row`, built by `make` unless an identical row was seen before.
    ///
    /// # Errors
    /// Whatever `make` returns.
    pub fn get_or_try<E>(
        &mut self,
        row: &BucketRow,
        make: impl FnOnce() -> Result<Signable, E>,
    ) -> Result<Rc<Signable>, E> {
        self.clock += 1;
        if let Some((stored, signable, used)) = self.entries.get_mut(&row.id) {
            if stored == row {
                *used = self.clock;
                return Ok(Rc::clone(signable));
            }
        }
        let signable = Rc::new(make()?);
        // A rotated bucket replaces its own entry: no room to make then.
        if self.entries.len() >= Self::CAPACITY && !self.entries.contains_key(&row.id) {
            evict_oldest_quarter(&mut self.entries, |(_, _, used)| *used);
        }
        self.entries
            .insert(row.id.clone(), (row.clone(), Rc::clone(&signable), self.clock));
        Ok(signable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigv4::{Bucket, Credentials, UrlStyle};

    fn row(key_id: &str) -> ScopeRow {
        let mut row = crate::scope::tests::row();
        key_id.clone_into(&mut row.key_id);
        row
    }

    fn bucket_row(sealed: &str) -> BucketRow {
        let mut bucket = crate::scope::tests::row().bucket;
        bucket.endpoint = Some("http://127.0.0.1:9000".into());
        sealed.clone_into(&mut bucket.encrypted_secret_key);
        bucket
    }

    fn known_id(c: Option<Cached>) -> Option<String> {
        match c? {
            Cached::Known(row) => Some(row.key_id.clone()),
            Cached::Unknown => Some("<unknown>".into()),
        }
    }

    #[test]
    fn entries_live_exactly_the_ttl() {
        let mut c = ScopeCache::new(30);
        let key = KeyRef::Hash("h1");
        assert!(c.get(key, None, 0).is_none());
        c.put(key, None, Some(row("k1")), 1_000);
        assert_eq!(known_id(c.get(key, None, 1_000)).as_deref(), Some("k1"));
        assert_eq!(known_id(c.get(key, None, 30_999)).as_deref(), Some("k1"));
        assert!(c.get(key, None, 31_000).is_none(), "expired at put + ttl");
        assert!(c.is_empty(), "an expired entry is dropped when seen");
    }

    #[test]
    fn the_tenant_and_the_key_identity_are_part_of_the_key() {
        let mut c = ScopeCache::new(30);
        c.put(KeyRef::Hash("h1"), Some("blue"), Some(row("k1")), 0);
        assert!(c.get(KeyRef::Hash("h1"), None, 1).is_none());
        assert!(c.get(KeyRef::Hash("h1"), Some("red"), 1).is_none());
        assert!(c.get(KeyRef::Hash("h1"), Some("blue"), 1).is_some());
        let token = KeyRef::Id {
            key_id: "k1",
            project_id: "p1",
        };
        assert!(c.get(token, Some("blue"), 1).is_none());
        c.put(token, None, Some(row("k1")), 0);
        let other_project = KeyRef::Id {
            key_id: "k1",
            project_id: "p2",
        };
        assert!(c.get(other_project, None, 1).is_none());
        assert!(c.get(token, None, 1).is_some());
    }

    #[test]
    fn unknown_keys_are_remembered_too() {
        let mut c = ScopeCache::new(10);
        assert!(matches!(c.put(KeyRef::Hash("nope"), None, None, 0), Cached::Unknown));
        assert_eq!(
            known_id(c.get(KeyRef::Hash("nope"), None, 9_999)).as_deref(),
            Some("<unknown>")
        );
        assert!(c.get(KeyRef::Hash("nope"), None, 10_000).is_none());
    }

    #[test]
    fn a_flood_of_unknown_keys_cannot_evict_known_ones() {
        let mut c = ScopeCache::new(60);
        c.put(KeyRef::Hash("real"), None, Some(row("k1")), 0);
        for i in 0..ScopeCache::UNKNOWN_CAPACITY * 3 {
            c.put(KeyRef::Hash(&format!("random-{i}")), None, None, 1);
        }
        assert!(c.len() <= ScopeCache::UNKNOWN_CAPACITY + 1, "bounded: {}", c.len());
        assert_eq!(known_id(c.get(KeyRef::Hash("real"), None, 2)).as_deref(), Some("k1"));
    }

    #[test]
    fn the_cache_is_bounded() {
        let mut c = ScopeCache::new(60);
        for i in 0..ScopeCache::CAPACITY * 2 + 7 {
            c.put(KeyRef::Hash(&format!("k{i}")), None, Some(row("k")), 0);
            assert!(c.len() <= ScopeCache::CAPACITY);
        }
        // Expired entries are swept before anything fresh is dropped.
        let mut c = ScopeCache::new(1);
        for i in 0..ScopeCache::CAPACITY {
            c.put(KeyRef::Hash(&format!("old{i}")), None, Some(row("k")), 0);
        }
        c.put(KeyRef::Hash("new"), None, Some(row("k")), 5_000);
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn a_full_cache_drops_the_least_recently_used_quarter() {
        let mut c = ScopeCache::new(60);
        let hot = KeyRef::Hash("hot");
        c.put(hot, None, Some(row("hot")), 0);
        for i in 1..ScopeCache::CAPACITY {
            c.put(KeyRef::Hash(&format!("k{i}")), None, Some(row("k")), 0);
            // The first key put is also the one in use.
            assert!(c.get(hot, None, 0).is_some());
        }
        assert_eq!(c.len(), ScopeCache::CAPACITY);
        c.put(KeyRef::Hash("new"), None, Some(row("new")), 1);
        assert_eq!(
            c.len(),
            ScopeCache::CAPACITY - ScopeCache::CAPACITY / 4 + 1,
            "a quarter went"
        );
        assert_eq!(known_id(c.get(hot, None, 1)).as_deref(), Some("hot"), "in use, so kept");
        assert_eq!(known_id(c.get(KeyRef::Hash("new"), None, 1)).as_deref(), Some("new"));
        assert!(c.get(KeyRef::Hash("k1"), None, 1).is_none(), "the oldest unused went");
        let last = ScopeCache::CAPACITY - 1;
        assert!(
            c.get(KeyRef::Hash(&format!("k{last}")), None, 1).is_some(),
            "the newest stayed"
        );

        // A flood of new keys, each used once, never costs the key in use its entry.
        for i in 0..ScopeCache::CAPACITY * 3 {
            c.put(KeyRef::Hash(&format!("flood{i}")), None, Some(row("k")), 2);
            if i % 512 == 0 {
                assert!(c.get(hot, None, 2).is_some(), "evicted after {i} new keys");
            }
            assert!(c.len() <= ScopeCache::CAPACITY);
        }
    }

    #[test]
    fn eviction_takes_at_least_a_quarter_oldest_first() {
        let mut map: HashMap<u32, u64> = (0..8).map(|i| (i, u64::from(i / 2))).collect();
        evict_oldest_quarter(&mut map, |stamp| *stamp);
        let mut left: Vec<u32> = map.into_keys().collect();
        left.sort_unstable();
        assert_eq!(left, [2, 3, 4, 5, 6, 7], "the two oldest (sharing a stamp) went");
        // Ties at the cutoff go with it: more than a quarter, never less.
        let mut map: HashMap<u32, u64> = (0..8).map(|i| (i, u64::from(i.min(5) / 3))).collect();
        evict_oldest_quarter(&mut map, |stamp| *stamp);
        assert_eq!(map.len(), 5);
        // Stamps far apart: the bisection still lands on the oldest.
        let mut map: HashMap<u32, u64> = [(0, 5), (1, u64::MAX), (2, 7), (3, 1 << 40), (4, 6)].into();
        evict_oldest_quarter(&mut map, |stamp| *stamp);
        let mut left: Vec<u64> = map.into_values().collect();
        left.sort_unstable();
        assert_eq!(
            left,
            [7, 1 << 40, u64::MAX],
            "a quarter of five, rounded up: the two oldest"
        );
        let mut empty: HashMap<u32, u64> = HashMap::new();
        evict_oldest_quarter(&mut empty, |stamp| *stamp);
        assert!(empty.is_empty());
    }

    #[test]
    fn ttl_zero_remembers_nothing() {
        let mut c = ScopeCache::new(0);
        assert!(!c.enabled());
        c.put(KeyRef::Hash("h"), None, Some(row("k1")), 0);
        c.put(KeyRef::Hash("u"), None, None, 0);
        assert!(c.get(KeyRef::Hash("h"), None, 0).is_none());
        assert!(c.is_empty());
    }

    #[test]
    fn clients_presenting_many_unknown_keys_are_slowed() {
        let mut b = UnknownKeyBudget::default();
        for i in 0..UnknownKeyBudget::LIMIT {
            assert_eq!(b.exhausted("1.2.3.4", i64::from(i)), None);
            b.record("1.2.3.4", i64::from(i));
        }
        assert_eq!(b.exhausted("1.2.3.4", 1_000), Some(59));
        assert_eq!(b.exhausted("5.6.7.8", 1_000), None, "other clients are unaffected");
        assert_eq!(b.exhausted("1.2.3.4", 59_999), Some(1));
        assert_eq!(b.exhausted("1.2.3.4", 60_000), None, "a new window");
        b.record("1.2.3.4", 60_000);
        assert_eq!(b.exhausted("1.2.3.4", 60_001), None);
    }

    #[test]
    fn signables_are_reused_only_for_an_identical_row() {
        let mut c = SignableCache::default();
        let made = std::cell::Cell::new(0);
        let make = || {
            made.set(made.get() + 1);
            Ok::<_, ()>(Signable {
                bucket: Bucket::new("http://127.0.0.1:9000", UrlStyle::Path, "uploads", "us-east-1").unwrap(),
                credentials: Credentials::new("AKID", "secret"),
            })
        };
        c.get_or_try(&bucket_row("secret-a"), make).unwrap();
        c.get_or_try(&bucket_row("secret-a"), make).unwrap();
        assert_eq!(made.get(), 1);
        // Rotated credentials: same bucket id, new sealed value.
        c.get_or_try(&bucket_row("secret-b"), make).unwrap();
        assert_eq!(made.get(), 2);
    }

    #[test]
    fn a_full_signable_cache_keeps_the_buckets_in_use() {
        let mut c = SignableCache::default();
        let make = || {
            Ok::<_, ()>(Signable {
                bucket: Bucket::new("http://127.0.0.1:9000", UrlStyle::Path, "uploads", "us-east-1").unwrap(),
                credentials: Credentials::new("AKID", "secret"),
            })
        };
        let mut hot = bucket_row("hot");
        "hot".clone_into(&mut hot.id);
        for i in 0..SignableCache::CAPACITY * 2 {
            let mut other = bucket_row("secret");
            other.id = format!("bucket-{i}");
            c.get_or_try(&other, make).unwrap();
            c.get_or_try(&hot, make).unwrap();
            assert!(c.entries.len() <= SignableCache::CAPACITY);
        }
        let made = std::cell::Cell::new(0);
        c.get_or_try(&hot, || {
            made.set(1);
            make()
        })
        .unwrap();
        assert_eq!(made.get(), 0, "the bucket in use was never dropped");

        // Full: a rotated bucket's new credentials replace its entry and drop nothing else.
        let mut rotated = hot.clone();
        "hot-rotated".clone_into(&mut rotated.encrypted_secret_key);
        while c.entries.len() < SignableCache::CAPACITY {
            let mut other = bucket_row("secret");
            other.id = format!("filler-{}", c.entries.len());
            c.get_or_try(&other, make).unwrap();
        }
        c.get_or_try(&rotated, make).unwrap();
        assert_eq!(c.entries.len(), SignableCache::CAPACITY);
    }
}
