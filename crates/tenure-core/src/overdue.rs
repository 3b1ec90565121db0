//! Overdue (OVD-1…5, ACC-5): what unpaid bills do to the products an account uses, and how a
//! top-up undoes it.
//!
//! An account is overdue while any bill is unpaid (OVD-1, [`AccountState::status`]). One
//! *episode* runs from the bill that leaves the account overdue to the top-up that settles the
//! last unpaid bill. [`OverdueState::epoch`] numbers the episodes; every due action of an episode
//! carries its number, so a warning, stop or release whose episode has ended does nothing
//! (TIME-4), and a later episode schedules its own.
//!
//! One product in one episode, under the catalog's [`Overdue`] policy (`product.overdue`):
//!
//! | state    | event                                              | next     | messages                       | rule         |
//! |----------|----------------------------------------------------|----------|--------------------------------|--------------|
//! | running  | episode starts, impact `none`                      | running  | —                              | OVD-2        |
//! | running  | episode starts, `block_fee_operations`             | running  | — (purchases refused, [`AccountState::check_not_overdue_for`]) | OVD-2 |
//! | running  | episode starts, `stop_immediately`                 | stopped  | `service.stopped`              | OVD-2, OVD-5 |
//! | running  | `stop_warning_before` before start + `after`       | running  | `service.stop_warning`         | OVD-5        |
//! | running  | start + `after` (`stop_after`)                     | stopped  | `service.stopped`              | OVD-2, OVD-5 |
//! | stopped  | `release_warning_before` before stop + `release_after` | stopped | `subscription.release_warning` | OVD-3, OVD-5 |
//! | stopped  | stop + `release_after`                             | released | `subscription.released`        | OVD-3        |
//! | stopped  | the last unpaid bill is settled                    | running  | `service.restored`             | OVD-4, ACC-5 |
//! | released | the last unpaid bill is settled                    | released | — (final)                      | OVD-3        |
//!
//! `account.overdue` (at the start, [`AccountState::issue_bill`]) and `account.restored` (at the
//! end, [`AccountState::top_up`]) are the account's own messages.
//!
//! **Release messages.** OVD-3 and OVD-5 ask for a message before the release and at it; the
//! stable kinds list names exactly two for that, `subscription.release_warning` and
//! `subscription.released` ("OVD-3: an instance is released and its data deleted"). They are
//! used for a product's released resources too, so a provider has one event to act on for
//! every deletion: the subject is the account id (there is no subscription), and the data says
//! `{"product": …, "scope": "service", "reason": "overdue"}`. A second `service.stopped` would
//! break "one per product" (OVD-5), and a new kind would break the stable list.
//!
//! **Subscriptions** (SUB-*, `crate::subscription`): [`AccountState::products_in_use`] counts a
//! product with a live (not released) instance as used, so the product takes part in an
//! episode with the product-level impact above. The edition's impact
//! (`Product::overdue_for(Some(edition))`) gates subscribe, renew, upgrade and auto-renewal
//! while overdue ([`AccountState::check_subscription_fee`]). Stopping and releasing single
//! instances for overdue is not modelled: instances stop and are released by their own expiry
//! flow (SUB-6), never by an episode.

use crate::account::{AccountState, AccountStatus, Effects};
use crate::catalog::{Catalog, Overdue, Product};
use crate::due::{DueAction, DueKind};
use crate::error::{ErrorCode, Refusal};
use crate::ids::BillId;
use crate::message::MessageKind;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeSet;

/// The account's overdue episodes (OVD-1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OverdueState {
    /// The number of the current (or the last) episode; 0 before the first. Bumped when an
    /// episode starts, never reused, carried by every due action of the episode.
    pub epoch: u32,
    /// When the current episode started; `None` while the account is not overdue.
    pub since: Option<Timestamp>,
}

/// A product's service state for one account under overdue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceState {
    /// Stopped for overdue since. Cleared by restoration (OVD-4); kept once released.
    pub stopped_at: Option<Timestamp>,
    /// Released (data deleted) after a long stop (OVD-3): final.
    pub released_at: Option<Timestamp>,
    /// The last overdue episode whose impact was applied to the product: once per episode.
    #[serde(default)]
    pub epoch: u32,
    /// The last episode whose `service.stop_warning` went out (TIME-4: once).
    #[serde(default)]
    pub stop_warning_epoch: u32,
    /// The last episode whose release warning went out (TIME-4: once).
    #[serde(default)]
    pub release_warning_epoch: u32,
}

/// `expect_service status`: may the account use the product now, as far as overdue goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceCondition {
    Available,
    /// Stopped or released for overdue.
    Stopped,
}

impl ServiceCondition {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceCondition::Available => "available",
            ServiceCondition::Stopped => "stopped",
        }
    }
}

/// The entitlement answer for one product (`GET /v1/accounts/{id}/services/{product}`,
/// `expect_service`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceStatus {
    pub product: String,
    /// Whether usage of the product could be accepted now: not stopped for overdue, and at
    /// least one of its meters has plan quota left or pay-as-you-go the account can use
    /// (priced, activated where required, no `stop_before_excess` plan in force for it).
    pub available: bool,
    /// `stopped` while overdue has stopped or released the product, else `available` (also
    /// when `available` is false for want of quota or activation).
    pub status: ServiceCondition,
    /// Sum of what the product's plans in force now could still give (reserved units excluded).
    pub quota_remaining: u64,
    pub stopped_at: Option<Timestamp>,
    pub released_at: Option<Timestamp>,
    /// While overdue and not yet stopped: when a `stop_after` stop will happen.
    pub stops_at: Option<Timestamp>,
}

impl AccountState {
    /// The start of the current overdue episode, while the account is overdue.
    pub fn overdue_since(&self) -> Option<Timestamp> {
        self.overdue
            .since
            .filter(|_| self.status() == AccountStatus::Overdue)
    }

    /// OVD-2: the products the account uses: a plan not ended, pay-as-you-go activated, usage
    /// taken from plans or rated, usage waiting for its bill, a bill, an open reservation, or a
    /// subscription instance not released (SUB-1).
    pub fn products_in_use(&self) -> BTreeSet<String> {
        let mut used = BTreeSet::new();
        let live = self.subscriptions.iter().filter(|s| s.is_live());
        used.extend(live.map(|s| s.product.clone()));
        let plans = self.plans.iter().filter(|p| p.end.is_none());
        used.extend(plans.map(|p| p.product.clone()));
        used.extend(self.payg.activated.iter().cloned());
        used.extend(self.payg.accruals.iter().map(|a| a.product.clone()));
        used.extend(self.payg.bills.iter().map(|b| b.product.clone()));
        let open = self.reservations.iter().filter(|r| r.is_open());
        used.extend(open.map(|r| r.product.clone()));
        for (key, day) in &self.usage_stats {
            // The key is "date|product|meter" (usage::usage_day_key).
            if (day.from_plans > 0 || day.payg_quantity > 0)
                && let Some(product) = key.split('|').nth(1)
            {
                used.insert(product.to_string());
            }
        }
        used
    }

    /// OVD-2: when `product` stops (or stopped) in the current episode: the instant its impact
    /// gives (the start of the episode + its delay), or the recorded stop if that is earlier.
    /// A stop applied late (by a scheduler running behind, or at the first bill run of a
    /// product first used during the episode) is recorded when it ran, yet usage from the
    /// impact's instant on is refused before and after that run alike. `None` while not
    /// overdue, for impacts that never stop, and for a product never stopped.
    fn stop_instant(&self, product: &Product) -> Option<Timestamp> {
        let recorded = self.services.get(&product.id).and_then(|s| s.stopped_at);
        let by_impact = self.overdue_since().and_then(|since| {
            let delay = product.overdue_for(None).impact.stop_delay()?;
            Some(delay.add_to(since, &self.time_zone()).unwrap_or(since))
        });
        match (recorded, by_impact) {
            (Some(recorded), Some(by_impact)) => Some(recorded.min(by_impact)),
            (recorded, by_impact) => recorded.or(by_impact),
        }
    }

    /// Whether overdue keeps `product` from being used at `now`: stopped or released by its
    /// due actions, or past the stop instant of the current episode although the stop has not
    /// run yet (a scheduler running late, or a product first used during the episode, whose
    /// impact is applied at its first bill).
    fn stopped_for_overdue(&self, product: &Product, now: Timestamp) -> bool {
        let released = self
            .services
            .get(&product.id)
            .is_some_and(|s| s.released_at.is_some());
        released || self.stop_instant(product).is_some_and(|at| at <= now)
    }

    /// OVD-2, OVD-3: a product stopped or released for overdue refuses usage.
    pub fn check_service_available(
        &self,
        product: &Product,
        now: Timestamp,
    ) -> Result<(), Refusal> {
        if !self.stopped_for_overdue(product, now) {
            return Ok(());
        }
        let released = self
            .services
            .get(&product.id)
            .is_some_and(|s| s.released_at.is_some());
        let detail = if released {
            format!(
                "{} was released for this account after a long overdue stop",
                product.id
            )
        } else {
            format!(
                "{} is stopped for this account: settle the unpaid bills",
                product.id
            )
        };
        Err(Refusal::new(ErrorCode::ServiceStopped, detail))
    }

    /// The entitlement of the account to `product` at `now` (see [`ServiceStatus`]).
    pub fn service_status(
        &self,
        catalog: &Catalog,
        product: &str,
        now: Timestamp,
    ) -> Result<ServiceStatus, Refusal> {
        let p = catalog
            .product(product)
            .ok_or_else(|| Refusal::not_found(format!("no product {product:?}")))?;
        let stopped = self.stopped_for_overdue(p, now);
        let quota_remaining = self
            .plans
            .iter()
            .filter(|plan| plan.product == p.id && plan.in_force(now))
            .map(|plan| plan.remaining())
            .sum();
        let usable = p.meters.iter().any(|m| {
            let (_, uncovered) = crate::plan::split(&self.plans, &m.id, 1, now);
            uncovered == 0 || self.rate_overflow(p, &m.id, 1, now).is_ok()
        });
        let state = self.services.get(&p.id);
        Ok(ServiceStatus {
            product: p.id.clone(),
            available: !stopped && usable,
            status: if stopped {
                ServiceCondition::Stopped
            } else {
                ServiceCondition::Available
            },
            quota_remaining,
            stopped_at: state.and_then(|s| s.stopped_at),
            released_at: state.and_then(|s| s.released_at),
            stops_at: self.stop_instant(p).filter(|at| now < *at),
        })
    }

    // ---- the episode --------------------------------------------------------------------------

    /// After a bill was issued (PAYG-3): if it left the account overdue, an episode starts
    /// (OVD-1). The impacts need the catalog: `on_due` follows every bill cycle with
    /// [`AccountState::apply_overdue_impacts`].
    pub(crate) fn after_bill(&mut self, _fx: &mut Effects, _bill: BillId, now: Timestamp) {
        self.open_overdue_episode(now);
    }

    /// Starts an episode if the account is overdue and none is running; the current epoch.
    fn open_overdue_episode(&mut self, now: Timestamp) -> Option<u32> {
        if self.status() != AccountStatus::Overdue {
            return None;
        }
        if self.overdue.since.is_none() {
            self.overdue.epoch += 1;
            self.overdue.since = Some(now);
        }
        Some(self.overdue.epoch)
    }

    /// Whether `epoch` is the episode running now: its due actions still apply.
    fn episode_current(&self, epoch: u32) -> bool {
        self.overdue_since().is_some() && self.overdue.epoch == epoch
    }

    /// OVD-2: applies the catalog's impact to every product in use that has not had it in the
    /// current episode. Idempotent; runs after every bill, so a product first used during an
    /// episode gets its impact with its first bill (its stop instant still counts from the start
    /// of the episode).
    pub(crate) fn apply_overdue_impacts(
        &mut self,
        fx: &mut Effects,
        catalog: &Catalog,
        now: Timestamp,
    ) {
        let Some(epoch) = self.open_overdue_episode(now) else {
            return;
        };
        for id in self.products_in_use() {
            // A product the catalog no longer has cannot be used anyway.
            let Some(product) = catalog.product(&id) else {
                continue;
            };
            let state = self.services.entry(id.clone()).or_default();
            if state.epoch == epoch || state.released_at.is_some() {
                continue;
            }
            state.epoch = epoch;
            let policy = product.overdue_for(None);
            let Some(stop_at) = self.stop_instant(product) else {
                // `none`, `block_fee_operations`: nothing runs differently.
                continue;
            };
            if stop_at <= now {
                self.stop_service(fx, &id, policy, epoch, now);
                continue;
            }
            let zone = self.time_zone();
            let warn_at = policy.stop_warning_before.sub_from(stop_at, &zone);
            match warn_at {
                Ok(at) if at >= stop_at => {} // no warning configured
                Ok(at) if at > now => fx.schedule.push(self.due(
                    at,
                    DueKind::OverdueStopWarning {
                        product: id.clone(),
                        epoch,
                    },
                )),
                _ => self.stop_warning(fx, &id, stop_at, epoch, now),
            }
            fx.schedule.push(self.due(
                stop_at,
                DueKind::OverdueStop {
                    product: id.clone(),
                    epoch,
                },
            ));
        }
    }

    /// OVD-4, ACC-5: the last unpaid bill was settled. The episode ends (its pending warnings,
    /// stops and releases become stale) and every product stopped for overdue, not released,
    /// runs again with `service.restored`. The caller emits `account.restored` after.
    pub(crate) fn end_overdue_episode(
        &mut self,
        fx: &mut Effects,
        _catalog: &Catalog,
        now: Timestamp,
    ) {
        assert_eq!(
            self.status(),
            AccountStatus::Active,
            "an episode ends only when nothing is unpaid"
        );
        let epoch = self.overdue.epoch;
        self.overdue.since = None;
        let restored: Vec<String> = self
            .services
            .iter_mut()
            .filter(|(_, s)| s.stopped_at.is_some() && s.released_at.is_none())
            .map(|(id, s)| {
                s.stopped_at = None;
                id.clone()
            })
            .collect();
        let subject = self.id.to_string();
        for product in restored {
            self.emit(
                fx,
                MessageKind::ServiceRestored,
                &subject,
                &format!("service_restored:{product}:{epoch}"),
                json!({ "product": product, "reason": "overdue_settled" }),
                now,
            );
        }
    }

    // ---- due actions ----------------------------------------------------------------------------

    /// OVD-5: `service.stop_warning`, if the product still runs in this episode.
    pub(crate) fn overdue_stop_warning(
        &mut self,
        fx: &mut Effects,
        catalog: &Catalog,
        product: &str,
        epoch: u32,
        now: Timestamp,
    ) {
        let Some(p) = catalog.product(product) else {
            return;
        };
        if !self.episode_current(epoch) || self.stopped_for_overdue(p, now) {
            return;
        }
        if let Some(stop_at) = self.stop_instant(p) {
            self.stop_warning(fx, product, stop_at, epoch, now);
        }
    }

    /// OVD-2: the `stop_after` stop, if the episode is still running.
    pub(crate) fn overdue_stop(
        &mut self,
        fx: &mut Effects,
        catalog: &Catalog,
        product: &str,
        epoch: u32,
        now: Timestamp,
    ) {
        let Some(p) = catalog.product(product) else {
            return;
        };
        if self.episode_current(epoch) {
            self.stop_service(fx, product, p.overdue_for(None), epoch, now);
        }
    }

    /// OVD-3, OVD-5: the warning before release, if the product is still stopped.
    pub(crate) fn overdue_release_warning(
        &mut self,
        fx: &mut Effects,
        catalog: &Catalog,
        product: &str,
        epoch: u32,
        now: Timestamp,
    ) {
        if !self.release_pending(product, epoch) {
            return;
        }
        let Some(policy) = catalog.product(product).map(|p| p.overdue_for(None)) else {
            return;
        };
        let stopped_at = self.services[product].stopped_at.unwrap_or(now);
        let release_at = policy
            .release_after
            .add_to(stopped_at, &self.time_zone())
            .ok();
        let state = self
            .services
            .get_mut(product)
            .expect("checked by release_pending");
        if state.release_warning_epoch == epoch {
            return;
        }
        state.release_warning_epoch = epoch;
        let subject = self.id.to_string();
        self.emit(
            fx,
            MessageKind::SubscriptionReleaseWarning,
            &subject,
            &format!("service_release_warning:{product}:{epoch}"),
            json!({
                "product": product,
                "scope": "service",
                "reason": "overdue",
                "release_at": release_at,
                "unpaid": self.unpaid(),
            }),
            now,
        );
    }

    /// OVD-3: the release, if the product is still stopped: final, its data is deleted.
    pub(crate) fn overdue_release(
        &mut self,
        fx: &mut Effects,
        product: &str,
        epoch: u32,
        now: Timestamp,
    ) {
        if !self.release_pending(product, epoch) {
            return;
        }
        if let Some(s) = self.services.get_mut(product) {
            s.released_at = Some(now);
        }
        let subject = self.id.to_string();
        self.emit(
            fx,
            MessageKind::SubscriptionReleased,
            &subject,
            &format!("service_released:{product}:{epoch}"),
            json!({ "product": product, "scope": "service", "reason": "overdue" }),
            now,
        );
    }

    fn release_pending(&self, product: &str, epoch: u32) -> bool {
        self.episode_current(epoch)
            && self
                .services
                .get(product)
                .is_some_and(|s| s.stopped_at.is_some() && s.released_at.is_none())
    }

    // ---- helpers ------------------------------------------------------------------------------

    fn stop_warning(
        &mut self,
        fx: &mut Effects,
        product: &str,
        stop_at: Timestamp,
        epoch: u32,
        now: Timestamp,
    ) {
        let state = self.services.entry(product.to_string()).or_default();
        if state.stop_warning_epoch == epoch {
            return;
        }
        state.stop_warning_epoch = epoch;
        let subject = self.id.to_string();
        let data = json!({ "product": product, "stop_at": stop_at, "unpaid": self.unpaid() });
        self.emit(
            fx,
            MessageKind::ServiceStopWarning,
            &subject,
            &format!("service_stop_warning:{product}:{epoch}"),
            data,
            now,
        );
    }

    /// Stops `product` now (once per episode) with `service.stopped`, and schedules its release
    /// warning and release (OVD-3), counted from the stop.
    fn stop_service(
        &mut self,
        fx: &mut Effects,
        product: &str,
        policy: &Overdue,
        epoch: u32,
        now: Timestamp,
    ) {
        let state = self.services.entry(product.to_string()).or_default();
        if state.stopped_at.is_some() || state.released_at.is_some() {
            return;
        }
        state.stopped_at = Some(now);
        let zone = self.time_zone();
        let release_at = policy.release_after.add_to(now, &zone).ok();
        let subject = self.id.to_string();
        let data = json!({
            "product": product,
            "reason": "overdue",
            "unpaid": self.unpaid(),
            "release_at": release_at,
        });
        self.emit(
            fx,
            MessageKind::ServiceStopped,
            &subject,
            &format!("service_stopped:{product}:{epoch}"),
            data,
            now,
        );
        let Some(release_at) = release_at else {
            return;
        };
        if let Ok(warn_at) = policy.release_warning_before.sub_from(release_at, &zone)
            && warn_at < release_at
        {
            fx.schedule.push(self.due(
                warn_at.max(now),
                DueKind::OverdueReleaseWarning {
                    product: product.to_string(),
                    epoch,
                },
            ));
        }
        fx.schedule.push(self.due(
            release_at,
            DueKind::OverdueRelease {
                product: product.to_string(),
                epoch,
            },
        ));
    }

    /// A due action of this account; the key is unique forever because the epoch is.
    fn due(&self, due_at: Timestamp, kind: DueKind) -> DueAction {
        let key = match &kind {
            DueKind::OverdueStopWarning { product, epoch }
            | DueKind::OverdueStop { product, epoch }
            | DueKind::OverdueReleaseWarning { product, epoch }
            | DueKind::OverdueRelease { product, epoch } => {
                format!("{}:{}:{product}:{epoch}", kind.name(), self.id)
            }
            other => unreachable!("not an overdue action: {other:?}"),
        };
        DueAction {
            key,
            account: self.id.clone(),
            due_at,
            kind,
        }
    }
}
