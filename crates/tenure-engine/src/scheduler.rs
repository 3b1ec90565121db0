//! The due-action runner (TIME-3, TIME-4). Claims use leases, so several processes can share one
//! queue; each action runs in one account transaction that re-checks its lease, applies the
//! handler's effects and marks it done, so it is done exactly once or not at all.

use crate::clock::wall_now_us;
use crate::engine::{Engine, persist};
use crate::error::EngineError;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tenure_core::due::DueKind;
use tenure_core::ids::AccountId;
use tenure_core::{Refusal, Timestamp};
use tenure_store::DueRow;

/// How many actions one claim takes.
pub const DUE_CLAIM_BATCH_MAX: usize = 256;
/// How long a claim is ours before another process may take it over.
pub const DUE_LEASE_MS: i64 = 60_000;
/// Longest sleep of the real-time loop between two looks at the queue.
pub const DUE_POLL_MS_MAX: u64 = 1_000;

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

    /// Claims and runs what is due at or before `up_to`, in due order; returns how many ran.
    pub fn run_due(&self, up_to: Timestamp) -> Result<u64, EngineError> {
        let rows = self.engine.store.claim_due(
            &self.owner,
            up_to.as_microsecond(),
            wall_now_us(),
            self.lease_ms,
            DUE_CLAIM_BATCH_MAX,
        )?;
        let mut ran = 0;
        for row in rows {
            if self.run_one(&row)? {
                ran += 1;
            }
        }
        Ok(ran)
    }

    /// Runs one claimed action. `false` if it was no longer ours (done, or its lease lapsed and
    /// another process took it).
    fn run_one(&self, row: &DueRow) -> Result<bool, EngineError> {
        let engine = self.engine;
        let kind: DueKind = serde_json::from_str(&row.payload)?;
        let account = AccountId::parse(&row.account_id)
            .map_err(|r: Refusal| EngineError::Corrupt(r.detail))?;
        let at = Timestamp::from_microsecond(row.due_us)
            .map_err(|e| EngineError::Corrupt(e.to_string()))?;
        let owner = self.owner.as_str();
        let policy = engine.policy.clone();
        let mut committed = None;
        let ran = engine.store.write(|tx| -> Result<bool, EngineError> {
            committed = None;
            if tx.lock_due(&row.key, owner)?.is_none() {
                return Ok(false);
            }
            let (_, mut state) = engine.load_for_write(tx, &account)?;
            // The handler runs at the action's own instant, exactly as if that time had passed.
            let fx = state.on_due(&kind, &engine.catalog, &policy, at);
            let version = persist(tx, &state, &fx, false)?;
            tx.record_due_run(&row.key, owner, wall_now_us())?;
            tx.complete_due(&row.key, engine.now().as_microsecond())?;
            committed = Some((version, state));
            Ok(true)
        })?;
        if let Some((version, state)) = committed {
            engine.cache.put(version, state);
        }
        Ok(ran)
    }

    /// TIME-3: moves a sandbox clock to `to`, running every due action up to and including it in
    /// time order, including actions created while advancing. Each action runs with the clock
    /// standing at its due instant.
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
        let mut actions_run = 0;
        while let Some(next_us) = self.engine.store.next_due_us()? {
            if next_us > to.as_microsecond() {
                break;
            }
            let next = Timestamp::from_microsecond(next_us)
                .map_err(|e| EngineError::Corrupt(e.to_string()))?;
            sandbox.set(next);
            let ran = self.run_due(next)?;
            if ran == 0 && self.engine.store.next_due_us()? == Some(next_us) {
                // Leased by another process that has not finished: do not spin.
                tracing::warn!(
                    due_us = next_us,
                    "due action leased elsewhere; stopping the advance early"
                );
                break;
            }
            actions_run += ran;
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
            match self.run_due(now) {
                Ok(n) if n as usize >= DUE_CLAIM_BATCH_MAX => {
                    on_ran(n);
                    continue;
                }
                Ok(n) => on_ran(n),
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
