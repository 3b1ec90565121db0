//! The engine value and the one path every account command takes: load, decide, persist.

use crate::cache::{AccountCache, CACHE_ACCOUNTS_MAX};
use crate::error::EngineError;
use crate::views::AccountView;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tenure_core::account::{AccountPolicy, AccountState, Effects};
use tenure_core::catalog::Catalog;
use tenure_core::clock::Clock;
use tenure_core::ids::AccountId;
use tenure_core::{ErrorCode, Refusal, Timestamp};
use tenure_store::{
    DueRow, EntryRow, IdemRow, JournalRow, MessageRow, Store, SubscriptionRow, Tx, UsageEventRow,
};

/// Accounts one [`Engine::load_accounts`] transaction writes at most.
pub const LOAD_ACCOUNTS_PER_TX_MAX: usize = 1_000;

/// An `Idempotency-Key` with the request it came with (Stripe's semantics): a replay with the
/// same request gets the stored answer; the same key with another request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idem {
    /// Whose keys these are: the API key id, so two callers never collide.
    pub scope: String,
    pub key: String,
    /// A digest of method, path and body.
    pub request_hash: String,
}

/// The engine: a store, a catalog and a clock.
pub struct Engine {
    pub(crate) store: Store,
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) catalog_version: i64,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) policy: AccountPolicy,
    /// Account states by account, with the row version they are at (see `cache.rs`).
    pub(crate) cache: AccountCache,
}

impl Engine {
    /// Opens an engine. Registers the catalog's text so its version is kept (CAT-1).
    pub fn new(
        store: Store,
        catalog: Catalog,
        catalog_source: &str,
        clock: Arc<dyn Clock>,
    ) -> Result<Engine, EngineError> {
        let digest = tenure_store::hash_key(catalog_source);
        let now_us = clock.now().as_microsecond();
        let catalog_version =
            store.register_catalog(&digest, &catalog.name, catalog_source, now_us)?;
        let policy = AccountPolicy {
            low_balance_notices: catalog.defaults.low_balance_notices,
            low_balance_repeat: catalog.defaults.low_balance_repeat,
        };
        Ok(Engine {
            store,
            catalog: Arc::new(catalog),
            catalog_version,
            clock,
            policy,
            cache: AccountCache::new(CACHE_ACCOUNTS_MAX),
        })
    }

    /// Keeps at most `accounts` states in the in-process cache (0: none, every write parses the
    /// stored state). The default is [`CACHE_ACCOUNTS_MAX`].
    pub fn with_cache_capacity(mut self, accounts: usize) -> Engine {
        self.cache = AccountCache::new(accounts);
        self
    }

    /// Writes new accounts the caller built with the core (with the effects that built them),
    /// [`LOAD_ACCOUNTS_PER_TX_MAX`] per transaction. For bulk loading only (the benchmark, imports):
    /// a transaction here spans accounts, the one exception to the one-account-per-transaction
    /// invariant, allowed because the accounts are new and nobody else can see them yet. An
    /// account that exists already fails the call (`conflict`).
    pub fn load_accounts(&self, accounts: Vec<(AccountState, Effects)>) -> Result<(), EngineError> {
        for chunk in accounts.chunks(LOAD_ACCOUNTS_PER_TX_MAX) {
            self.store.write(|tx| -> Result<(), EngineError> {
                let mut writes = Writes::default();
                for (state, fx) in chunk {
                    let json = serde_json::to_string(state)?;
                    let id = state.id.as_str();
                    if !tx.insert_account(id, &json, state.created_at.as_microsecond())? {
                        return Err(EngineError::refused(
                            ErrorCode::Conflict,
                            format!("account {id:?} exists already"),
                        ));
                    }
                    writes.add_effects(id, fx)?;
                    writes.add_subscriptions(crate::subscriptions::projection(state));
                }
                writes.write(tx)
            })?;
        }
        Ok(())
    }

    /// Drops every cached account state (they are reloaded from the database when next used).
    pub fn clear_cache(&self) {
        self.cache.clear();
    }

    /// The clock's instant, truncated to the microsecond: the precision instants are stored at,
    /// so what an answer shows is exactly what was written.
    pub fn now(&self) -> Timestamp {
        let now = self.clock.now();
        Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now)
    }
    pub fn store(&self) -> &Store {
        &self.store
    }
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }
    pub fn catalog_version(&self) -> i64 {
        self.catalog_version
    }
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Reads an account as of now.
    pub fn account(&self, id: &AccountId) -> Result<AccountView, EngineError> {
        let state = self.load(id)?;
        Ok(AccountView::of(&state, self.now()))
    }

    /// Loads an account's state outside a write (for reads).
    pub(crate) fn load(&self, id: &AccountId) -> Result<AccountState, EngineError> {
        self.store.read(|tx| load_state(tx, id))
    }

    /// Loads an account for a write: reads (on PostgreSQL, locks) its row, and takes the cached
    /// state instead of parsing the stored one when the cache holds that very version.
    pub(crate) fn load_for_write(
        &self,
        tx: &mut Tx,
        id: &AccountId,
    ) -> Result<(i64, AccountState), EngineError> {
        let row = tx.get_account(id.as_str())?.ok_or_else(|| no_account(id))?;
        match self.cache.take(id) {
            Some((version, state)) if version == row.version => Ok((version, state)),
            _ => Ok((row.version, serde_json::from_str(&row.state)?)),
        }
    }

    /// The one write path of an existing account: load it (locked), run `decide` on a copy at
    /// the clock's instant, persist the new state and every effect in the same transaction.
    /// With `idem`, a replay returns the first answer and changes nothing.
    pub(crate) fn mutate<T, F>(
        &self,
        id: &AccountId,
        idem: Option<&Idem>,
        mut decide: F,
    ) -> Result<T, EngineError>
    where
        T: Serialize + DeserializeOwned,
        F: FnMut(&mut AccountState, Timestamp) -> Result<(T, Effects), Refusal>,
    {
        let now = self.now();
        let mut committed = None;
        let answer = self.store.write(|tx| -> Result<T, EngineError> {
            committed = None;
            if let Some(found) = replay(tx, idem)? {
                return Ok(found);
            }
            let (_, mut state) = self.load_for_write(tx, id)?;
            let (answer, fx) = decide(&mut state, now)?;
            let version = persist(tx, &state, &fx, false)?;
            remember(tx, idem, &answer, now)?;
            committed = Some((version, state));
            Ok(answer)
        })?;
        if let Some((version, state)) = committed {
            self.cache.put(version, state);
        }
        Ok(answer)
    }

    /// Creates an account: the same path as [`Engine::mutate`] for a row that does not exist yet.
    pub(crate) fn create<T, F>(&self, idem: Option<&Idem>, mut decide: F) -> Result<T, EngineError>
    where
        T: Serialize + DeserializeOwned,
        F: FnMut(Timestamp) -> Result<(AccountState, T, Effects), Refusal>,
    {
        let now = self.now();
        let mut committed = None;
        let answer = self.store.write(|tx| -> Result<T, EngineError> {
            committed = None;
            if let Some(found) = replay(tx, idem)? {
                return Ok(found);
            }
            let (state, answer, fx) = decide(now)?;
            let version = persist(tx, &state, &fx, true)?;
            remember(tx, idem, &answer, now)?;
            committed = Some((version, state));
            Ok(answer)
        })?;
        if let Some((version, state)) = committed {
            self.cache.put(version, state);
        }
        Ok(answer)
    }
}

pub(crate) fn replay<T: DeserializeOwned>(
    tx: &mut Tx,
    idem: Option<&Idem>,
) -> Result<Option<T>, EngineError> {
    let Some(idem) = idem else { return Ok(None) };
    match tx.idem_get(&idem.scope, &idem.key)? {
        None => Ok(None),
        Some(row) if row.request_hash == idem.request_hash => {
            Ok(Some(serde_json::from_str(&row.body)?))
        }
        Some(_) => Err(EngineError::refused(
            ErrorCode::IdempotencyKeyReused,
            format!(
                "Idempotency-Key {:?} was already used with a different request",
                idem.key
            ),
        )),
    }
}

pub(crate) fn remember<T: Serialize>(
    tx: &mut Tx,
    idem: Option<&Idem>,
    answer: &T,
    now: Timestamp,
) -> Result<(), EngineError> {
    if let Some(idem) = idem {
        tx.idem_put(&IdemRow {
            scope: idem.scope.clone(),
            key: idem.key.clone(),
            request_hash: idem.request_hash.clone(),
            status: 200,
            body: serde_json::to_string(answer)?,
            created_us: now.as_microsecond(),
        })?;
    }
    Ok(())
}

pub(crate) fn no_account(id: &AccountId) -> EngineError {
    EngineError::Refused(Refusal::not_found(format!("no account {:?}", id.as_str())))
}

pub(crate) fn load_state(tx: &mut Tx, id: &AccountId) -> Result<AccountState, EngineError> {
    let row = tx.get_account(id.as_str())?.ok_or_else(|| no_account(id))?;
    Ok(serde_json::from_str(&row.state)?)
}

/// Writes a decision: the state, then every effect. One account's rows only. Returns the
/// account row's new version.
pub(crate) fn persist(
    tx: &mut Tx,
    state: &AccountState,
    fx: &Effects,
    new: bool,
) -> Result<i64, EngineError> {
    let account = state.id.as_str();
    let json = serde_json::to_string(state)?;
    let version = if new {
        if !tx.insert_account(account, &json, state.created_at.as_microsecond())? {
            return Err(EngineError::refused(
                ErrorCode::Conflict,
                format!("account {account:?} exists already"),
            ));
        }
        1
    } else {
        tx.update_account(account, &json)?
    };
    let mut writes = Writes::default();
    writes.add_effects(account, fx)?;
    // SUB-8: the account's instances as the renewal listing sees them, in the same transaction
    // (rows whose projection did not change are not rewritten).
    writes.add_subscriptions(crate::subscriptions::projection(state));
    writes.write(tx)?;
    Ok(version)
}

/// The rows decisions write besides account states, gathered so that one statement writes many
/// (of one account, or of every account of a usage batch on SQLite).
#[derive(Debug, Default)]
pub(crate) struct Writes {
    pub(crate) journal: Vec<JournalRow>,
    pub(crate) messages: Vec<MessageRow>,
    pub(crate) due: Vec<DueRow>,
    due_keys: HashSet<String>,
    pub(crate) usage: Vec<UsageEventRow>,
    /// SUB-8: projection rows of subscription instances (see `subscriptions.rs`).
    pub(crate) subscriptions: Vec<SubscriptionRow>,
}

impl Writes {
    /// Adds a decision's effects. Due actions already added (by key) are skipped: usage events of
    /// one cycle all ask for the same bill.
    pub(crate) fn add_effects(&mut self, account: &str, fx: &Effects) -> Result<(), EngineError> {
        for j in &fx.journal {
            debug_assert!(j.is_balanced());
            self.journal.push(JournalRow {
                account_id: account.to_string(),
                seq: j.seq,
                at_us: j.at.as_microsecond(),
                kind: j.kind.clone(),
                data: j.data.to_string(),
                entries: j
                    .entries
                    .iter()
                    .map(|e| EntryRow {
                        book: e.book.to_string(),
                        unit: e.unit.clone(),
                        amount: e.amount.to_string(),
                    })
                    .collect(),
            });
        }
        for m in &fx.messages {
            self.messages.push(MessageRow {
                account_id: account.to_string(),
                seq: m.seq,
                audience: m.audience.as_str().to_string(),
                kind: m.kind.as_str().to_string(),
                subject: m.subject.clone(),
                at_us: m.at.as_microsecond(),
                dedup_key: m.dedup_key.clone(),
                data: m.data.to_string(),
            });
        }
        for d in &fx.schedule {
            if self.due_keys.contains(&d.key) {
                continue;
            }
            self.due_keys.insert(d.key.clone());
            self.due.push(DueRow {
                key: d.key.clone(),
                account_id: d.account.to_string(),
                due_us: d.due_at.as_microsecond(),
                kind: d.kind.name().to_string(),
                payload: serde_json::to_string(&d.kind)?,
                ..DueRow::default()
            });
        }
        Ok(())
    }

    /// Adds projection rows of subscription instances (SUB-8).
    pub(crate) fn add_subscriptions(&mut self, rows: Vec<SubscriptionRow>) {
        self.subscriptions.extend(rows);
    }

    /// Takes over another set of rows.
    pub(crate) fn merge(&mut self, other: Writes) {
        self.journal.extend(other.journal);
        self.messages.extend(other.messages);
        for d in other.due {
            if self.due_keys.insert(d.key.clone()) {
                self.due.push(d);
            }
        }
        self.usage.extend(other.usage);
        self.subscriptions.extend(other.subscriptions);
    }

    /// Writes everything gathered, many rows per statement.
    pub(crate) fn write(&self, tx: &mut Tx) -> Result<(), EngineError> {
        if !self.usage.is_empty() {
            tx.insert_usage_events(&self.usage)?;
        }
        if !self.journal.is_empty() {
            tx.append_journals(&self.journal)?;
        }
        if !self.messages.is_empty() {
            tx.insert_messages(&self.messages)?;
        }
        if !self.due.is_empty() {
            tx.schedule_many(&self.due)?;
        }
        if !self.subscriptions.is_empty() {
            // One row per instance per statement (PostgreSQL refuses an upsert that touches a
            // row twice): the last one added for an instance wins.
            let mut rows: HashMap<(&str, &str), &SubscriptionRow> = HashMap::new();
            for r in &self.subscriptions {
                rows.insert((&r.account_id, &r.id), r);
            }
            let mut rows: Vec<SubscriptionRow> = rows.into_values().cloned().collect();
            rows.sort_by(|a, b| (&a.account_id, &a.id).cmp(&(&b.account_id, &b.id)));
            tx.upsert_subscriptions(&rows)?;
        }
        Ok(())
    }
}
