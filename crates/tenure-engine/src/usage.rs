//! Usage ingestion (USE-1, USE-2): a batch of events, one result per event, in input order.
//!
//! - Each event is answered on its own: applied (with its split across plans and what went
//!   pay-as-you-go), duplicate (with the first outcome), or refused (with a stable code). A bad
//!   event never blocks the others, and none is half applied: an event's effects are written in
//!   the same transaction as its account's new state and its `usage_events` row, or not at all.
//! - Idempotent by (account, event id) forever: the first outcome of every event, refusals
//!   included, is kept in `usage_events`; a duplicate is answered from it and changes nothing.
//!   Events that never reach an account (malformed id, unknown account) are refused without a
//!   row: there is no account to keep it under.
//! - Events of one account are applied in input order, one account at a time; different accounts
//!   proceed in parallel. On PostgreSQL each account's events are one transaction of their own
//!   (the house invariant), run on up to [`PG_INGEST_WORKERS_MAX`] threads. On SQLite, which has
//!   one writer at a time anyway, the whole batch is one transaction: one commit (one WAL sync)
//!   per batch instead of one per account. See the Decisions in `ARCHITECTURE.md`.
//!
//! The hot path avoids what does not need doing: states come from the in-process cache (checked
//! by row version, see `cache.rs`), duplicates are found with one multi-row lookup per batch,
//! and the rows of every event (usage record, journal, messages, due actions) are written with
//! multi-row statements.

use crate::engine::{Engine, Writes};
use crate::error::EngineError;
use crate::parallel::per_group;
use crate::views::UsageResultView;
use std::collections::HashMap;
use tenure_core::account::AccountState;
use tenure_core::ids::AccountId;
use tenure_core::usage::{EVENT_ID_LEN_MAX, UsageEvent, UsageOutcome};
use tenure_core::{Refusal, Timestamp};
use tenure_store::{Backend, Tx, UsageEventRow};

/// USE-2: the most events one batch may carry; a larger batch is refused whole.
pub const USAGE_BATCH_EVENTS_MAX: usize = 10_000;

/// PostgreSQL: threads one batch's account transactions run on at most (the pool holds 16
/// connections; the rest stay for other requests and the scheduler).
pub const PG_INGEST_WORKERS_MAX: usize = 8;

/// One event as it arrived, for the account it names (the account id is checked here).
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingEvent {
    pub account: String,
    pub event: UsageEvent,
}

/// The events of one account in a batch, as indexes into the batch in input order.
struct Group {
    account: AccountId,
    events: Vec<usize>,
}

/// First outcomes already stored, by account and event id.
type Known = HashMap<String, HashMap<String, String>>;

/// What one account's events came to.
struct GroupDone {
    results: Vec<(usize, UsageResultView)>,
    /// The state and row version to cache once the transaction commits.
    committed: Option<(i64, AccountState)>,
}

impl Engine {
    /// USE-1, USE-2: applies a batch of usage events at the clock's instant and answers one
    /// result per event, in input order. A batch over [`USAGE_BATCH_EVENTS_MAX`] is refused whole
    /// (`invalid_input`). A storage failure fails the call: events it had applied stay applied,
    /// and sending the same batch again answers them as duplicates with their first outcome.
    pub fn ingest_usage(
        &self,
        events: Vec<IncomingEvent>,
    ) -> Result<Vec<UsageResultView>, EngineError> {
        if events.len() > USAGE_BATCH_EVENTS_MAX {
            return Err(Refusal::invalid(format!(
                "a batch carries at most {USAGE_BATCH_EVENTS_MAX} events, not {}",
                events.len()
            ))
            .into());
        }
        let now = self.now();
        let mut results: Vec<Option<UsageResultView>> = vec![None; events.len()];
        let mut groups: Vec<Group> = Vec::new();
        let mut by_account: HashMap<&str, usize> = HashMap::new();
        for (i, e) in events.iter().enumerate() {
            let id = &e.event.id;
            if id.is_empty() || id.len() > EVENT_ID_LEN_MAX {
                let r = Refusal::invalid(format!("event id must be 1–{EVENT_ID_LEN_MAX} bytes"));
                results[i] = Some(UsageResultView::refused(id, &e.account, &r));
                continue;
            }
            if let Some(&g) = by_account.get(e.account.as_str()) {
                groups[g].events.push(i);
                continue;
            }
            match AccountId::parse(&e.account) {
                Ok(account) => {
                    by_account.insert(&e.account, groups.len());
                    groups.push(Group {
                        account,
                        events: vec![i],
                    });
                }
                Err(r) => results[i] = Some(UsageResultView::refused(id, &e.account, &r)),
            }
        }
        let answered = match self.store.backend() {
            Backend::Sqlite => self.ingest_in_one_transaction(&events, &mut groups, now)?,
            Backend::Postgres => self.ingest_per_account(&events, &groups, now)?,
        };
        for (i, view) in answered {
            results[i] = Some(view);
        }
        results
            .into_iter()
            .map(|r| r.ok_or_else(|| EngineError::Corrupt("an event went unanswered".into())))
            .collect()
    }

    /// SQLite: every account of the batch in one transaction, one commit.
    fn ingest_in_one_transaction(
        &self,
        events: &[IncomingEvent],
        groups: &mut [Group],
        now: Timestamp,
    ) -> Result<Vec<(usize, UsageResultView)>, EngineError> {
        // Account order: neighbouring rows share pages.
        groups.sort_by(|a, b| a.account.cmp(&b.account));
        let groups = &*groups;
        let mut committed = Vec::new();
        let answered =
            self.store
                .write(|tx| -> Result<Vec<(usize, UsageResultView)>, EngineError> {
                    // A retried attempt starts afresh; states taken from the cache by a failed
                    // attempt are gone and reload from the database.
                    committed.clear();
                    let known = lookup(tx, events, groups.iter().flat_map(|g| &g.events))?;
                    let mut writes = Writes::default();
                    let mut answered = Vec::with_capacity(events.len());
                    for g in groups {
                        let done =
                            self.ingest_group(tx, events, g, Some(&known), now, &mut writes)?;
                        answered.extend(done.results);
                        committed.extend(done.committed);
                    }
                    writes.write(tx)?;
                    Ok(answered)
                })?;
        for (version, state) in committed {
            self.cache.put(version, state);
        }
        Ok(answered)
    }

    /// PostgreSQL: one transaction per account, accounts in parallel.
    fn ingest_per_account(
        &self,
        events: &[IncomingEvent],
        groups: &[Group],
        now: Timestamp,
    ) -> Result<Vec<(usize, UsageResultView)>, EngineError> {
        let answered = per_group(groups, PG_INGEST_WORKERS_MAX, |group| {
            let mut committed = None;
            let results = self.store.write(|tx| {
                let mut writes = Writes::default();
                let done = self.ingest_group(tx, events, group, None, now, &mut writes)?;
                writes.write(tx)?;
                committed = done.committed;
                Ok::<_, EngineError>(done.results)
            })?;
            if let Some((version, state)) = committed {
                self.cache.put(version, state);
            }
            Ok(results)
        })?;
        Ok(answered.into_iter().flatten().collect())
    }

    /// Applies one account's events in input order, inside `tx`, adding their rows to `writes`
    /// and writing the account's new state. `known` holds the first outcomes stored for this
    /// batch's events when the caller looked them up already in this transaction.
    ///
    /// The state comes from the cache when it holds one; the write checks its version, and if
    /// another writer moved the row on, the account is reloaded (locked) and decided again.
    fn ingest_group(
        &self,
        tx: &mut Tx,
        events: &[IncomingEvent],
        group: &Group,
        known: Option<&Known>,
        now: Timestamp,
        writes: &mut Writes,
    ) -> Result<GroupDone, EngineError> {
        let account = group.account.as_str();
        let late_window = self.catalog.defaults.late_window;
        let mut cached = self.cache.take(&group.account);
        let mut known = known;
        let mut own_lookup;
        loop {
            let (version, mut state, locked) = match cached.take() {
                Some((version, state)) => (version, state, false),
                None => match tx.get_account(account)? {
                    Some(row) => (row.version, serde_json::from_str(&row.state)?, true),
                    None => {
                        let r = Refusal::not_found(format!("no account {account:?}"));
                        let results = group
                            .events
                            .iter()
                            .map(|&i| {
                                (
                                    i,
                                    UsageResultView::refused(&events[i].event.id, account, &r),
                                )
                            })
                            .collect();
                        return Ok(GroupDone {
                            results,
                            committed: None,
                        });
                    }
                },
            };
            let stored = match known {
                Some(k) => k,
                None => {
                    own_lookup = lookup(tx, events, &group.events)?;
                    &own_lookup
                }
            };
            let mut mine = Writes::default();
            let mut first: HashMap<&str, String> = HashMap::new();
            let mut results = Vec::with_capacity(group.events.len());
            for &i in &group.events {
                let ev = &events[i].event;
                let earlier = first.get(ev.id.as_str()).or_else(|| {
                    stored
                        .get(account)
                        .and_then(|events| events.get(ev.id.as_str()))
                });
                if let Some(json) = earlier {
                    let outcome: UsageOutcome = serde_json::from_str(json)?;
                    results.push((i, UsageResultView::of(&ev.id, account, &outcome, true)));
                    continue;
                }
                let (outcome, fx) =
                    state.apply_usage(&self.catalog, ev, late_window, &self.policy, now);
                let json = serde_json::to_string(&outcome)?;
                mine.add_effects(account, &fx)?;
                mine.usage.push(UsageEventRow {
                    account_id: account.to_string(),
                    event_id: ev.id.clone(),
                    outcome: json.clone(),
                    at_us: now.as_microsecond(),
                });
                first.insert(&ev.id, json);
                results.push((i, UsageResultView::of(&ev.id, account, &outcome, false)));
            }
            if mine.usage.is_empty() {
                // Only duplicates: nothing changed.
                return Ok(GroupDone {
                    results,
                    committed: Some((version, state)),
                });
            }
            let json = serde_json::to_string(&state)?;
            match tx.update_account_if_version(account, &json, version)? {
                Some(version) => {
                    writes.merge(mine);
                    return Ok(GroupDone {
                        results,
                        committed: Some((version, state)),
                    });
                }
                None if locked => {
                    return Err(EngineError::Corrupt(format!(
                        "account {account:?} changed while its row was held"
                    )));
                }
                None => {
                    // The cached copy was stale: another process (or path) wrote the account.
                    // Decide again on the stored state, and look the events up again too.
                    tracing::debug!(account, "cached account state was stale; reloading");
                    known = None;
                }
            }
        }
    }
}

/// The first outcomes stored for the events at `indexes`.
fn lookup<'e>(
    tx: &mut Tx,
    events: &[IncomingEvent],
    indexes: impl IntoIterator<Item = &'e usize>,
) -> Result<Known, EngineError> {
    let keys: Vec<(&str, &str)> = indexes
        .into_iter()
        .map(|&i| (events[i].account.as_str(), events[i].event.id.as_str()))
        .collect();
    let mut known = Known::new();
    if keys.is_empty() {
        return Ok(known);
    }
    for row in tx.usage_events(&keys)? {
        known
            .entry(row.account_id)
            .or_default()
            .insert(row.event_id, row.outcome);
    }
    Ok(known)
}
