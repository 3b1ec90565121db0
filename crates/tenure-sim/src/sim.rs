//! The sandbox one scenario file runs in: a private in-memory store, the scenario's catalog, an
//! engine on a sandbox clock standing at `start`, and the names given with `as`.

use crate::scenario::{CatalogRef, Scenario};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use tenure_core::clock::{Clock, SandboxClock};
use tenure_core::ids::AccountId;
use tenure_core::{ErrorCode, Refusal, TimeZone, Timestamp, catalog};
use tenure_engine::views::{AccountView, CouponView, PlanView, SubscriptionView};
use tenure_engine::{Engine, EngineError, Scheduler};
use tenure_store::Store;

/// The store each file runs on: private to one store value, gone when it is dropped.
const STORE_URL: &str = "sqlite::memory:";

/// Names due-action leases taken by the simulator.
const SCHEDULER_OWNER: &str = "simulate";

/// The prefix of the ids `usage` gives events that name none: `simulate-1`, `simulate-2`…
const EVENT_ID_PREFIX: &str = "simulate-";

fn taken(name: &str) -> Refusal {
    Refusal::new(
        ErrorCode::Conflict,
        format!("{name:?} already names something"),
    )
}

/// Why a step did not happen.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fault {
    /// Refused by a rule, with a stable code (`expect_error` can expect it).
    Refused(Refusal),
    /// The sandbox itself failed (storage, corrupt state): never expected.
    Broken(String),
    /// The step went through, but not as the file said (`expect_result = "duplicate"` on an
    /// event that was applied): what it expected and what happened, for the report.
    Unexpected { expected: String, found: String },
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Refused(r) => write!(f, "{} ({})", r.code, r.detail),
            Fault::Broken(why) => write!(f, "an internal error ({why})"),
            Fault::Unexpected { found, .. } => f.write_str(found),
        }
    }
}

impl From<Refusal> for Fault {
    fn from(r: Refusal) -> Fault {
        Fault::Refused(r)
    }
}

impl From<EngineError> for Fault {
    fn from(e: EngineError) -> Fault {
        match e {
            EngineError::Refused(r) => Fault::Refused(r),
            other => Fault::Broken(other.to_string()),
        }
    }
}

/// What an alias can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ObjectKind {
    Coupon,
    Plan,
    Subscription,
    Reservation,
}

impl ObjectKind {
    pub(crate) fn noun(self) -> &'static str {
        match self {
            ObjectKind::Coupon => "coupon",
            ObjectKind::Plan => "plan",
            ObjectKind::Subscription => "subscription",
            ObjectKind::Reservation => "reservation",
        }
    }
}

/// An object a step made, by its account and its engine id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Object {
    pub(crate) kind: ObjectKind,
    pub(crate) account: AccountId,
    pub(crate) id: String,
}

/// What a subject names: an account, or an object made earlier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Subject {
    Account(AccountId),
    Object(Object),
}

/// Everything observable that a refused step must leave as it was.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Snapshot {
    now: Timestamp,
    accounts: Vec<AccountSnapshot>,
}

/// One account as a snapshot sees it.
#[derive(Debug, Clone, PartialEq)]
struct AccountSnapshot {
    account: AccountView,
    coupons: Vec<CouponView>,
    plans: Vec<PlanView>,
    subscriptions: Vec<SubscriptionView>,
}

/// One file's sandbox.
pub(crate) struct Sim {
    pub(crate) engine: Engine,
    clock: Arc<SandboxClock>,
    /// Calendar spans of `advance` are added in this zone: the fixed offset of `start`.
    zone: TimeZone,
    aliases: BTreeMap<String, Object>,
    /// How many event ids [`Sim::fresh_event_id`] has given.
    events_named: u64,
}

impl Sim {
    /// Loads the catalog and opens a fresh engine at the scenario's start. On failure, the
    /// report lines (catalog problems name the catalog file and line).
    pub(crate) fn start(
        scenario: &Scenario,
        file: &str,
        base_dir: &Path,
    ) -> Result<Sim, Vec<String>> {
        let at = |msg: String| format!("{file}:{}: {msg}", scenario.catalog_line);
        let (catalog, source) = match &scenario.catalog {
            CatalogRef::Demo => (catalog::demo(), catalog::DEMO_TOML.to_string()),
            CatalogRef::File(rel) => {
                let path = base_dir.join(rel);
                let name = path.display().to_string();
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| vec![at(format!("catalog: cannot read {name}: {e}"))])?;
                let catalog = catalog::parse(&name, &text).map_err(|errors| {
                    errors
                        .iter()
                        .map(|e| at(format!("catalog: {e}")))
                        .collect::<Vec<_>>()
                })?;
                (catalog, text)
            }
        };
        let broken = |e: String| vec![format!("{file}: cannot start the sandbox: {e}")];
        let store = Store::open(STORE_URL).map_err(|e| broken(e.to_string()))?;
        let clock = Arc::new(SandboxClock::new(scenario.start));
        let engine_clock: Arc<dyn Clock> = clock.clone();
        let engine = Engine::new(store, catalog, &source, engine_clock)
            .map_err(|e| broken(e.to_string()))?;
        Ok(Sim {
            engine,
            clock,
            zone: scenario.zone.clone(),
            aliases: BTreeMap::new(),
            events_named: 0,
        })
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The zone calendar spans of `advance` are added in.
    pub(crate) fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// TIME-3: moves the clock to `to`, running every due action up to it in time order.
    pub(crate) fn advance_to(&self, to: Timestamp) -> Result<(), Fault> {
        Scheduler::new(&self.engine, SCHEDULER_OWNER).advance_to(&self.clock, to)?;
        Ok(())
    }

    /// Runs what is already due, without moving the clock.
    pub(crate) fn run_due(&self) -> Result<(), Fault> {
        self.advance_to(self.now())
    }

    /// What `name` names: an alias first, then an account id. An account must exist.
    pub(crate) fn subject(&self, name: &str) -> Result<Subject, Fault> {
        if let Some(object) = self.aliases.get(name) {
            return Ok(Subject::Object(object.clone()));
        }
        let nothing = || Refusal::not_found(format!("{name:?} names no alias or account"));
        let id = AccountId::parse(name).map_err(|_| nothing())?;
        match self.engine.account(&id) {
            Ok(_) => Ok(Subject::Account(id)),
            Err(EngineError::Refused(r)) if r.code == ErrorCode::NotFound => Err(nothing().into()),
            Err(e) => Err(e.into()),
        }
    }

    /// The existing account `name` names.
    pub(crate) fn account(&self, name: &str) -> Result<AccountId, Fault> {
        match self.subject(name)? {
            Subject::Account(id) => Ok(id),
            Subject::Object(o) => Err(Refusal::not_found(format!(
                "{name:?} names a {}, not an account",
                o.kind.noun()
            ))
            .into()),
        }
    }

    /// The object of `kind` the alias `name` names.
    pub(crate) fn object(&self, name: &str, kind: ObjectKind) -> Result<Object, Fault> {
        match self.aliases.get(name) {
            Some(o) if o.kind == kind => Ok(o.clone()),
            Some(o) => Err(Refusal::not_found(format!(
                "{name:?} names a {}, not a {}",
                o.kind.noun(),
                kind.noun()
            ))
            .into()),
            None => Err(Refusal::not_found(format!("no {} is named {name:?}", kind.noun())).into()),
        }
    }

    /// Refuses a name `as` cannot take: one already given, or an account's id (subjects look up
    /// aliases first, so the account would be out of reach).
    pub(crate) fn check_alias_free(&self, name: &str) -> Result<(), Fault> {
        self.check_not_alias(name)?;
        match self.subject(name) {
            Ok(_) => Err(taken(name).into()),
            Err(Fault::Refused(_)) => Ok(()),
            Err(broken) => Err(broken),
        }
    }

    /// Refuses a name already given with `as` (for a new account's id).
    pub(crate) fn check_not_alias(&self, name: &str) -> Result<(), Fault> {
        if self.aliases.contains_key(name) {
            return Err(taken(name).into());
        }
        Ok(())
    }

    /// An event id no earlier `usage` step of this file was given by default.
    pub(crate) fn fresh_event_id(&mut self) -> String {
        self.events_named += 1;
        format!("{EVENT_ID_PREFIX}{}", self.events_named)
    }

    pub(crate) fn bind(&mut self, name: &str, object: Object) {
        self.aliases.insert(name.to_string(), object);
    }

    /// The observable state of every account (balances, coupons, plans, subscriptions), for "a
    /// refused step changes nothing".
    pub(crate) fn snapshot(&self) -> Result<Snapshot, Fault> {
        let mut accounts = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .engine
                .list_accounts(after.as_deref(), tenure_engine::PAGE_LIMIT_MAX)?;
            for view in page.items {
                let id = AccountId::parse(&view.id)?;
                accounts.push(AccountSnapshot {
                    coupons: self.engine.coupons(&id)?,
                    plans: self.engine.plans(&id)?,
                    subscriptions: self.engine.subscriptions(&id)?,
                    account: view,
                });
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        Ok(Snapshot {
            now: self.now(),
            accounts,
        })
    }
}
