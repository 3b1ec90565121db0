//! A bounded in-process cache of account states, keyed by account, each with the row version it
//! was read or written at.
//!
//! *Invariant:* the cache never decides anything on its own word. A state taken from it is used
//! only through a write that checks the version (`UPDATE … WHERE version = ?`); when another
//! process (or another path of this one) wrote the account since, that write changes nothing and
//! the caller reloads the row and decides again. So several processes on one database stay
//! correct, and a stale entry costs one reload.
//!
//! *Invariant:* an entry is put only after the transaction that wrote that version committed, so
//! a version number in the cache always names content that is (or was) in the database.

use std::collections::HashMap;
use std::sync::Mutex;
use tenure_core::account::AccountState;
use tenure_core::ids::AccountId;

/// Accounts kept by default: room for a working set of ten thousand busy accounts and more. An
/// account with a few plans takes a few KiB in memory.
pub const CACHE_ACCOUNTS_MAX: usize = 32_768;

/// Cached account states. Entries are taken out while a decision runs on them and put back after
/// commit, so a decision never clones a state and a failed one leaves nothing behind.
pub(crate) struct AccountCache {
    entries: Mutex<HashMap<AccountId, (i64, AccountState)>>,
    capacity: usize,
}

impl AccountCache {
    pub(crate) fn new(capacity: usize) -> AccountCache {
        AccountCache {
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<AccountId, (i64, AccountState)>> {
        // A panic while holding the lock leaves a consistent map (every operation is one call).
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the account's entry out (version, state), if cached.
    pub(crate) fn take(&self, id: &AccountId) -> Option<(i64, AccountState)> {
        self.lock().remove(id)
    }

    /// Puts a committed version back, unless a newer one is there already. When full, an
    /// arbitrary entry makes room (the map's iteration order, which is effectively random).
    pub(crate) fn put(&self, version: i64, state: AccountState) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.lock();
        if entries.get(&state.id).is_some_and(|(v, _)| *v >= version) {
            return;
        }
        if entries.len() >= self.capacity && !entries.contains_key(&state.id) {
            let victim = entries.keys().next().cloned();
            if let Some(victim) = victim {
                entries.remove(&victim);
            }
        }
        entries.insert(state.id.clone(), (version, state));
    }

    /// Drops every entry.
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }
}
