//! The due-action runner (TIME-3, TIME-4). Several processes can share one queue. A claim's
//! actions run in batches:
//!
//! - They are grouped by account; each account's actions run in time order on one copy of its
//!   state, which is written once for the group. When an action schedules another one for the
//!   same account that falls due before (or with) the group's next claimed action, the group
//!   stops there and gives the rest of its claim back, so the next claim runs them in time order
//!   with the new one: an account never sees its actions out of order.
//! - Every action is marked done in the transaction that applies its effects, so it is done
//!   exactly once or not at all.
//! - On PostgreSQL a claim leases its actions (`FOR UPDATE SKIP LOCKED`); each account's group is
//!   then one transaction of its own (the house invariant) that re-checks the leases, run on up
//!   to [`PG_DUE_WORKERS_MAX`] threads. On SQLite, which has one writer at a time anyway, the
//!   claim and the run of everything it holds are one transaction: holding the write lock from
//!   its start, it needs no lease, and one commit (one WAL sync) serves the whole claim instead
//!   of one per action. See the Decisions in `ARCHITECTURE.md`.
//!
//! The clock a handler sees is the action's own due instant, exactly as if that time had passed.

use crate::clock::wall_now_us;
use crate::engine::{Engine, Writes, no_account};
use crate::error::EngineError;
use crate::parallel::per_group;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tenure_core::account::AccountState;
use tenure_core::due::DueKind;
use tenure_core::ids::AccountId;
use tenure_core::{Refusal, Timestamp};
use tenure_store::{Backend, DueRow, Tx};

/// How many actions one claim of the real-time loop takes: small enough that several processes
/// share a burst of due work (and a lapsed lease strands little), large enough to amortise the
/// claim's and the batch's commits.
pub const DUE_CLAIM_BATCH_MAX: usize = 256;
/// How many actions one claim of a sandbox advance takes (the store's limit): the advance is
/// throughput work. A claim is one SQLite transaction, so this bounds how long the write lock
/// is held: a few tens of milliseconds at the measured rate.
pub const DUE_ADVANCE_CLAIM_MAX: usize = tenure_store::CLAIM_ROWS_MAX;
/// The same on SQLite, where a claim and its run are one transaction: more actions per commit
/// share more of the pages they write (index pages above all), and each commit syncs once.
pub const DUE_ADVANCE_CLAIM_SQLITE_MAX: usize = 4_000;
/// How long a claim is ours before another process may take it over.
pub const DUE_LEASE_MS: i64 = 60_000;
/// Longest sleep of the real-time loop between two looks at the queue.
pub const DUE_POLL_MS_MAX: u64 = 1_000;
/// PostgreSQL: threads one claim's account transactions run on at most (the pool holds 16
/// connections; the rest stay for HTTP requests).
pub const PG_DUE_WORKERS_MAX: usize = 8;

/// The meta key under which a sandbox clock's instant survives a restart.
pub const SANDBOX_NOW_KEY: &str = "sandbox_now";

/// What an advance of the sandbox clock did.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AdvanceReport {
    pub from: String,
    pub to: String,
    pub actions_run: u64,
}

/// Runs due actions for one engine; `owner` names this process in leases.
pub struct Scheduler<'e> {
    engine: &'e Engine,
    owner: String,
    lease_ms: i64,
}

/// One claimed action, parsed.
struct Claimed {
    key: String,
    at: Timestamp,
    kind: DueKind,
}

/// One account's claimed actions, in time order.
struct Group {
    account: AccountId,
    actions: Vec<Claimed>,
}

/// What became of one group.
#[derive(Default)]
struct GroupDone {
    /// Keys run (to mark done).
    ran: Vec<String>,
    /// Keys claimed but given back (they fall due after an action the group just scheduled).
    released: Vec<String>,
    /// The state and row version to cache once the transaction commits.
    committed: Option<(i64, AccountState)>,
}

/// One claim and its run.
#[derive(Debug, Default, Clone, Copy)]
struct Round {
    claimed: usize,
    /// The due instant of the claim's last action (µs).
    horizon_us: Option<i64>,
    done: ClaimDone,
}

/// What one claim came to.
#[derive(Debug, Default, Clone, Copy)]
struct ClaimDone {
    ran: u64,
    released: u64,
}

impl<'e> Scheduler<'e> {
    pub fn new(engine: &'e Engine, owner: impl Into<String>) -> Scheduler<'e> {
        Scheduler {
            engine,
            owner: owner.into(),
            lease_ms: DUE_LEASE_MS,
        }
    }

    /// Leases claims for `lease_ms` instead of [`DUE_LEASE_MS`]. A short lease lets a process
    /// that restarts under the same owner take over at once what a killed one had claimed (the
    /// crash tests); with several live processes it risks running an action's claim twice,
    /// which stays harmless (the lease is re-checked in the action's transaction).
    pub fn with_lease_ms(mut self, lease_ms: i64) -> Scheduler<'e> {
        self.lease_ms = lease_ms;
        self
    }

    /// Claims and runs what is due at or before `up_to`, in due order (one claim of at most
    /// [`DUE_CLAIM_BATCH_MAX`] actions); returns how many ran.
    pub fn run_due(&self, up_to: Timestamp) -> Result<u64, EngineError> {
        Ok(self.round(up_to, DUE_CLAIM_BATCH_MAX)?.done.ran)
    }

    /// One claim of at most `limit` actions due by `up_to`, and their run.
    fn round(&self, up_to: Timestamp, limit: usize) -> Result<Round, EngineError> {
        match self.engine.store.backend() {
            Backend::Sqlite => self.round_in_one_transaction(up_to, limit),
            Backend::Postgres => {
                let rows = self.engine.store.claim_due(
                    &self.owner,
                    up_to.as_microsecond(),
                    wall_now_us(),
                    self.lease_ms,
                    limit,
                )?;
                let claimed = rows.len();
                let horizon_us = rows.last().map(|r| r.due_us);
                let groups = group(rows)?;
                let done = self.run_per_account(&groups)?;
                Ok(Round {
                    claimed,
                    horizon_us,
                    done,
                })
            }
        }
    }

    /// SQLite: the claim and every group it holds in one transaction, one commit. The write
    /// transaction holds SQLite's one write lock from its start, so no other process can take
    /// these actions meanwhile: every action it reads as pending is ours until commit, with no
    /// lease to write (actions leased by a process on the lease protocol are skipped).
    fn round_in_one_transaction(
        &self,
        up_to: Timestamp,
        limit: usize,
    ) -> Result<Round, EngineError> {
        let mut committed = Vec::new();
        let round = self
            .engine
            .store
            .write(|tx| -> Result<Round, EngineError> {
                // A retried attempt starts afresh; states taken from the cache by a failed attempt
                // are gone and reload from the database.
                committed.clear();
                let rows = tx.pending_due_here(up_to.as_microsecond(), wall_now_us(), limit)?;
                let claimed = rows.len();
                let horizon_us = rows.last().map(|r| r.due_us);
                let mut groups = group(rows)?;
                // Account order: neighbouring rows share pages.
                groups.sort_by(|a, b| a.account.cmp(&b.account));
                let mut writes = Writes::default();
                let mut ran = Vec::new();
                let mut released = Vec::new();
                for g in &groups {
                    let ours: HashSet<&str> = g.actions.iter().map(|a| a.key.as_str()).collect();
                    let done = self.run_group(tx, g, &ours, &mut writes)?;
                    ran.extend(done.ran);
                    released.extend(done.released);
                    committed.extend(done.committed);
                }
                writes.write(tx)?;
                let done_us = horizon_us
                    .unwrap_or(0)
                    .max(self.engine.now().as_microsecond());
                let done = self.finish(tx, &ran, &released, done_us)?;
                Ok(Round {
                    claimed,
                    horizon_us,
                    done,
                })
            })?;
        for (version, state) in committed {
            self.engine.cache.put(version, state);
        }
        Ok(round)
    }

    /// PostgreSQL: one transaction per account, accounts in parallel.
    fn run_per_account(&self, groups: &[Group]) -> Result<ClaimDone, EngineError> {
        let owner = self.owner.as_str();
        let done = per_group(groups, PG_DUE_WORKERS_MAX, |group| {
            let mut committed = None;
            let done = self.engine.store.write(|tx| {
                committed = None;
                let keys: Vec<&str> = group.actions.iter().map(|a| a.key.as_str()).collect();
                let locked = tx.lock_due_many(&keys, owner)?;
                let ours: HashSet<&str> = locked.iter().map(String::as_str).collect();
                let mut writes = Writes::default();
                let done = self.run_group(tx, group, &ours, &mut writes)?;
                writes.write(tx)?;
                committed = done.committed;
                self.finish(
                    tx,
                    &done.ran,
                    &done.released,
                    self.engine.now().as_microsecond(),
                )
            })?;
            if let Some((version, state)) = committed {
                self.engine.cache.put(version, state);
            }
            Ok(done)
        })?;
        let mut total = ClaimDone::default();
        for d in done {
            total.ran += d.ran;
            total.released += d.released;
        }
        Ok(total)
    }

    /// Marks what ran done (and audits it), gives back what was released; in the transaction
    /// that applied the actions' effects.
    fn finish(
        &self,
        tx: &mut Tx,
        ran: &[String],
        released: &[String],
        done_us: i64,
    ) -> Result<ClaimDone, EngineError> {
        let ran: Vec<&str> = ran.iter().map(String::as_str).collect();
        let released: Vec<&str> = released.iter().map(String::as_str).collect();
        if !ran.is_empty() {
            tx.record_due_runs(&ran, &self.owner, wall_now_us())?;
            let completed = tx.complete_due_many(&ran, done_us)?;
            if completed != ran.len() as u64 {
                // Locked as ours and pending a moment ago, in this very transaction.
                return Err(EngineError::Corrupt(format!(
                    "{} of {} due actions were no longer pending",
                    ran.len() as u64 - completed,
                    ran.len()
                )));
            }
        }
        if !released.is_empty() {
            tx.release_due(&released, &self.owner)?;
        }
        Ok(ClaimDone {
            ran: ran.len() as u64,
            released: released.len() as u64,
        })
    }

    /// Runs one account's claimed actions that are still ours (`ours`), in time order, inside
    /// `tx`, adding their rows to `writes` and writing the account's new state once.
    ///
    /// The state comes from the cache when it holds one; the write checks its version, and if
    /// another writer moved the row on, the account is reloaded (locked) and run again.
    fn run_group(
        &self,
        tx: &mut Tx,
        group: &Group,
        ours: &HashSet<&str>,
        writes: &mut Writes,
    ) -> Result<GroupDone, EngineError> {
        let engine = self.engine;
        let account = group.account.as_str();
        let mine: Vec<&Claimed> = group
            .actions
            .iter()
            .filter(|a| ours.contains(a.key.as_str()))
            .collect();
        if mine.is_empty() {
            return Ok(GroupDone::default());
        }
        let mut cached = engine.cache.take(&group.account);
        loop {
            let (version, mut state, locked) = match cached.take() {
                Some((version, state)) => (version, state, false),
                None => {
                    let row = tx
                        .get_account(account)?
                        .ok_or_else(|| no_account(&group.account))?;
                    (row.version, serde_json::from_str(&row.state)?, true)
                }
            };
            let before = crate::subscriptions::projection(&state);
            let mut fx_rows = Writes::default();
            let mut done = GroupDone::default();
            // The earliest action this group's handlers have scheduled so far.
            let mut earliest_new: Option<Timestamp> = None;
            for (i, action) in mine.iter().enumerate() {
                if earliest_new.is_some_and(|t| t <= action.at) {
                    // Something new falls due before (or with) this claimed action: give it and
                    // the rest back, so the next claim runs them in time order with the new.
                    done.released = mine[i..].iter().map(|a| a.key.clone()).collect();
                    break;
                }
                // The handler runs at the action's own instant, exactly as if that time had
                // passed.
                let fx = state.on_due(&action.kind, &engine.catalog, &engine.policy, action.at);
                fx_rows.add_effects(account, &fx)?;
                done.ran.push(action.key.clone());
                earliest_new = fx
                    .schedule
                    .iter()
                    .map(|d| d.due_at)
                    .chain(earliest_new)
                    .min();
            }
            let json = serde_json::to_string(&state)?;
            match tx.update_account_if_version(account, &json, version)? {
                Some(version) => {
                    fx_rows.add_subscriptions(crate::subscriptions::changed(&before, &state));
                    writes.merge(fx_rows);
                    done.committed = Some((version, state));
                    return Ok(done);
                }
                None if locked => {
                    return Err(EngineError::Corrupt(format!(
                        "account {account:?} changed while its row was held"
                    )));
                }
                None => {
                    // The cached copy was stale: another process (or path) wrote the account.
                    tracing::debug!(account, "cached account state was stale; reloading");
                }
            }
        }
    }

    /// TIME-3: moves a sandbox clock to `to`, running every due action up to and including it in
    /// time order, including actions created while advancing. Each action runs at its own due
    /// instant; while a claim runs, the clock stands at its latest action's instant.
    pub fn advance_to(
        &self,
        sandbox: &tenure_core::clock::SandboxClock,
        to: Timestamp,
    ) -> Result<AdvanceReport, EngineError> {
        use tenure_core::clock::Clock;
        let from = sandbox.now();
        if to < from {
            return Err(
                Refusal::invalid(format!("cannot advance backwards from {from} to {to}")).into(),
            );
        }
        let limit = match self.engine.store.backend() {
            Backend::Sqlite => DUE_ADVANCE_CLAIM_SQLITE_MAX,
            Backend::Postgres => DUE_ADVANCE_CLAIM_MAX,
        };
        let mut actions_run = 0;
        loop {
            let round = self.round(to, limit)?;
            if round.claimed == 0 {
                if self
                    .engine
                    .store
                    .next_due_us()?
                    .is_some_and(|us| us <= to.as_microsecond())
                {
                    // Leased by another process that has not finished: do not spin.
                    tracing::warn!("due actions leased elsewhere; stopping the advance early");
                }
                break;
            }
            if let Some(us) = round.horizon_us {
                let horizon = Timestamp::from_microsecond(us)
                    .map_err(|e| EngineError::Corrupt(e.to_string()))?;
                if horizon > sandbox.now() {
                    sandbox.set(horizon);
                }
            }
            actions_run += round.done.ran;
        }
        sandbox.set(to);
        self.engine
            .store
            .meta_set(SANDBOX_NOW_KEY, &to.to_string())?;
        Ok(AdvanceReport {
            from: from.to_string(),
            to: to.to_string(),
            actions_run,
        })
    }

    /// Real-time mode: runs actions as they fall due until `stop` is set, telling `on_ran` how
    /// many each round ran.
    pub fn run_forever(&self, stop: &AtomicBool, on_ran: impl Fn(u64)) {
        while !stop.load(Ordering::Relaxed) {
            let now = self.engine.now();
            match self.round(now, DUE_CLAIM_BATCH_MAX) {
                Ok(round) => {
                    on_ran(round.done.ran);
                    if round.claimed >= DUE_CLAIM_BATCH_MAX || round.done.released > 0 {
                        continue;
                    }
                }
                Err(e) => tracing::error!(error = %e, "due actions failed; retrying"),
            }
            let wait_ms = match self.engine.store.next_due_us() {
                Ok(Some(us)) => ((us - self.engine.now().as_microsecond()) / 1000)
                    .clamp(0, DUE_POLL_MS_MAX as i64) as u64,
                _ => DUE_POLL_MS_MAX,
            };
            std::thread::sleep(Duration::from_millis(wait_ms.max(10)));
        }
    }
}

/// Groups claimed rows (in due order) by account, keeping each account's actions in due order.
fn group(rows: Vec<DueRow>) -> Result<Vec<Group>, EngineError> {
    let mut groups: Vec<Group> = Vec::new();
    let mut by_account: HashMap<String, usize> = HashMap::new();
    for row in rows {
        let action = Claimed {
            kind: serde_json::from_str(&row.payload)?,
            at: Timestamp::from_microsecond(row.due_us)
                .map_err(|e| EngineError::Corrupt(e.to_string()))?,
            key: row.key,
        };
        match by_account.get(&row.account_id) {
            Some(&g) => groups[g].actions.push(action),
            None => {
                let account = AccountId::parse(&row.account_id)
                    .map_err(|r: Refusal| EngineError::Corrupt(r.detail))?;
                by_account.insert(row.account_id, groups.len());
                groups.push(Group {
                    account,
                    actions: vec![action],
                });
            }
        }
    }
    Ok(groups)
}
