//! Subscriptions (SUB-1…10) and renewal management (SUB-8) as the engine offers them: arguments
//! parsed at the boundary, one account transaction each.
//!
//! - Bulk commands (`renew`, `set_renewal`) take at most [`SUB_BATCH_ITEMS_MAX`] items, each
//!   naming an instance once; otherwise the whole batch is refused (`invalid_input`) and nothing
//!   runs. Each item is then its own account transaction: it applies whole or not at all, and a
//!   refused item (with its own code) never blocks the others.
//! - With an `Idempotency-Key`, each item that went through is remembered in its own account
//!   transaction under a key derived from the batch's, and the whole answer under the batch's
//!   key once every item ran. A resend after a crash mid-batch answers the items already done
//!   from their records and runs the rest; a resend after the batch answers it whole.
//! - Renewal management lists instances across accounts from the `subscriptions` projection
//!   (see `tenure_store`), which [`crate::engine::persist`] keeps in step with the account's
//!   state in the same transaction; the views themselves are built from the states, read in
//!   the same snapshot.

use crate::commands::PAGE_LIMIT_MAX;
use crate::engine::{Engine, Idem};
use crate::error::EngineError;
use crate::views::{
    ItemResultView, Page, RenewResultView, RenewalQuoteView, SubscriptionView, UnsubscribeView,
};
use std::collections::{HashMap, HashSet};
use tenure_core::account::AccountState;
use tenure_core::catalog::{Edition, Product};
use tenure_core::ids::{AccountId, SubscriptionId};
use tenure_core::subscription::{CoTermDay, RenewalMode, SubStatus, Subscription};
use tenure_core::{Refusal, Span, Timestamp};
use tenure_store::{SubscriptionCursor, SubscriptionQuery, SubscriptionRow};

/// SUB-3, SUB-8: the most items one bulk command (renew, set renewal) may carry.
pub const SUB_BATCH_ITEMS_MAX: usize = 200;

/// SUB-8: the longest "expires within N days" window a listing accepts.
pub const EXPIRES_WITHIN_DAYS_MAX: u32 = 3_660;

const MICROS_PER_DAY: i64 = 86_400 * 1_000_000;

/// The renewal tabs of SUB-2, as listings filter them.
const RENEWAL_TABS: [&str; 4] = ["manual", "auto", "payg_after_expiry", "canceled"];

/// One item of a batch renewal (SUB-3).
#[derive(Debug, Clone, PartialEq)]
pub struct RenewItem {
    pub account: AccountId,
    pub subscription: SubscriptionId,
    pub term: Span,
    pub co_term_day: Option<CoTermDay>,
}

/// SUB-8: which instances a renewal listing shows. Every filter given must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RenewalQuery {
    /// Only this account's instances (what an account-scoped key may see).
    pub account: Option<AccountId>,
    /// The tab: `manual`, `auto`, `payg_after_expiry` or `canceled`.
    pub tab: Option<String>,
    pub product: Option<String>,
    /// `active`, `trial`, `frozen`, `grace`, `stopped`, `retention`, `released` or `payg`.
    pub status: Option<String>,
    /// Expiring from now to now + this many days of 24 hours (7, 15, 30 in the console).
    pub expires_within_days: Option<u32>,
    /// Expiring at or after this instant (with `expires_to`: a range; not with
    /// `expires_within_days`).
    pub expires_from: Option<Timestamp>,
    /// Expiring before this instant (exclusive).
    pub expires_to: Option<Timestamp>,
    /// The `next` of the previous page.
    pub after: Option<String>,
    pub limit: usize,
}

/// The stable string of a common renewal day (SUB-5): `1`…`28` or `last`.
fn co_term_text(day: Option<CoTermDay>) -> Option<String> {
    day.map(|d| match d {
        CoTermDay::Day(n) => n.to_string(),
        CoTermDay::Last => "last".to_string(),
    })
}

impl Engine {
    fn edition_of<'c>(&'c self, product: &'c Product, id: &str) -> Result<&'c Edition, Refusal> {
        product
            .edition(id)
            .ok_or_else(|| Refusal::not_found(format!("no edition {id:?} in {}", product.id)))
    }

    /// The catalog product of an instance of `s`.
    fn product_of(&self, s: &AccountState, sub: SubscriptionId) -> Result<&Product, Refusal> {
        let product = &sub_of(s, sub)?.product;
        self.product(product)
    }

    /// SUB-1: subscribes to `edition` of `product` for `term` (none for a free edition or a
    /// trial), renewing in `mode`, under the engine's catalog version (CAT-1).
    pub fn subscribe(
        &self,
        account: &AccountId,
        product: &str,
        edition: &str,
        term: Option<Span>,
        mode: RenewalMode,
        idem: Option<&Idem>,
    ) -> Result<SubscriptionView, EngineError> {
        let product = self.product(product)?;
        let edition = self.edition_of(product, edition)?;
        let policy = self.policy.clone();
        let catalog_version = self.catalog_version;
        self.mutate(account, idem, |s, now| {
            let (id, fx) =
                s.subscribe(product, edition, term, mode, catalog_version, &policy, now)?;
            Ok((view(s, id)?, fx))
        })
    }

    /// One instance of the account.
    pub fn subscription(
        &self,
        account: &AccountId,
        sub: SubscriptionId,
    ) -> Result<SubscriptionView, EngineError> {
        let state = self.load(account)?;
        Ok(view(&state, sub)?)
    }

    /// Every instance of the account, released ones included, in subscription order.
    pub fn subscriptions(&self, account: &AccountId) -> Result<Vec<SubscriptionView>, EngineError> {
        let state = self.load(account)?;
        Ok(state
            .subscriptions
            .iter()
            .map(|sub| SubscriptionView::of(&state, sub))
            .collect())
    }

    /// SUB-3, SUB-5: what renewing for `term` (ending on `co_term_day`) would cost now, and the
    /// expiry it would give. Changes nothing.
    pub fn renewal_quote(
        &self,
        account: &AccountId,
        sub: SubscriptionId,
        term: Span,
        co_term_day: Option<CoTermDay>,
    ) -> Result<RenewalQuoteView, EngineError> {
        let state = self.load(account)?;
        let product = self.product_of(&state, sub)?;
        let quote = state.renewal_quote(product, sub, term, co_term_day, self.now())?;
        Ok(RenewalQuoteView::of(
            &state,
            sub_of(&state, sub)?,
            term,
            co_term_text(co_term_day),
            &quote,
        ))
    }

    /// SUB-3: renews a batch of instances, each in its own account transaction, and answers one
    /// result per item in input order: `renewed` with what it charged, or `refused` with its
    /// own code (released, converted to pay-as-you-go, overdue under `block_fee_operations`,
    /// a term not allowed, not enough funds…). A batch over [`SUB_BATCH_ITEMS_MAX`] items or
    /// naming an instance twice is refused whole (`invalid_input`).
    pub fn renew(
        &self,
        items: Vec<RenewItem>,
        idem: Option<&Idem>,
    ) -> Result<Vec<RenewResultView>, EngineError> {
        check_batch(items.iter().map(|i| (&i.account, i.subscription)))?;
        self.batch(idem, &items, |item, idem| {
            let (account, sub) = (item.account.as_str(), item.subscription.to_string());
            let policy = self.policy.clone();
            let done = self.mutate(&item.account, idem, |s, now| {
                let product = self.product_of(s, item.subscription)?;
                let (quote, fx) = s.renew_subscription(
                    product,
                    item.subscription,
                    item.term,
                    item.co_term_day,
                    &policy,
                    now,
                )?;
                let quote = RenewalQuoteView::of(
                    s,
                    sub_of(s, item.subscription)?,
                    item.term,
                    co_term_text(item.co_term_day),
                    &quote,
                );
                let view = RenewResultView {
                    account: account.to_string(),
                    subscription: sub.clone(),
                    status: "renewed".into(),
                    quote: Some(quote),
                    code: None,
                    detail: None,
                };
                Ok((view, fx))
            });
            match done {
                Ok(view) => Ok(view),
                Err(EngineError::Refused(r)) => Ok(RenewResultView::refused(account, &sub, &r)),
                Err(e) => Err(e),
            }
        })
    }

    /// SUB-2, SUB-8: sets the renewal mode of a batch of instances (enable auto-renewal with a
    /// period, modify the period, set to manual, cancel…), each in its own account
    /// transaction; one result per item in input order. Batch limits as for [`Engine::renew`].
    pub fn set_renewal(
        &self,
        items: Vec<(AccountId, SubscriptionId)>,
        mode: RenewalMode,
        idem: Option<&Idem>,
    ) -> Result<Vec<ItemResultView>, EngineError> {
        check_batch(items.iter().map(|(a, s)| (a, *s)))?;
        self.batch(idem, &items, |(account, sub), idem| {
            let sub_text = sub.to_string();
            let done = self.mutate(account, idem, |s, now| {
                let product = self.product_of(s, *sub)?;
                let fx = s.set_renewal_mode(product, *sub, mode, now)?;
                let view = ItemResultView {
                    account: account.to_string(),
                    subscription: sub_text.clone(),
                    status: "updated".into(),
                    result: Some(view(s, *sub)?),
                    code: None,
                    detail: None,
                };
                Ok((view, fx))
            });
            match done {
                Ok(view) => Ok(view),
                Err(EngineError::Refused(r)) => {
                    Ok(ItemResultView::refused(account.as_str(), &sub_text, &r))
                }
                Err(e) => Err(e),
            }
        })
    }

    /// SUB-10: releases an instance at once and refunds the unused part of the current term,
    /// less the handling fee.
    pub fn unsubscribe(
        &self,
        account: &AccountId,
        sub: SubscriptionId,
        idem: Option<&Idem>,
    ) -> Result<UnsubscribeView, EngineError> {
        let policy = self.policy.clone();
        self.mutate(account, idem, |s, now| {
            let product = self.product_of(s, sub)?;
            let (refund, fx) = s.unsubscribe(product, sub, &policy, now)?;
            let view = UnsubscribeView {
                refund: s.currency.format(refund.refund),
                subscription: view(s, sub)?,
            };
            Ok((view, fx))
        })
    }

    /// SUB-9: unfreezes an idle-frozen trial or free instance and restarts its idle clock.
    pub fn continue_trial(
        &self,
        account: &AccountId,
        sub: SubscriptionId,
        idem: Option<&Idem>,
    ) -> Result<SubscriptionView, EngineError> {
        self.mutate(account, idem, |s, now| {
            let fx = s.continue_trial(sub, now)?;
            Ok((view(s, sub)?, fx))
        })
    }

    /// SUB-9: upgrades a trial or free instance to the paid `edition` of its product for `term`.
    pub fn upgrade(
        &self,
        account: &AccountId,
        sub: SubscriptionId,
        edition: &str,
        term: Span,
        idem: Option<&Idem>,
    ) -> Result<SubscriptionView, EngineError> {
        let policy = self.policy.clone();
        let catalog_version = self.catalog_version;
        self.mutate(account, idem, |s, now| {
            let product = self.product_of(s, sub)?;
            let edition = self.edition_of(product, edition)?;
            let fx = s.upgrade(product, sub, edition, term, catalog_version, &policy, now)?;
            Ok((view(s, sub)?, fx))
        })
    }

    /// SUB-8: instances across accounts (or of one), filtered by tab, product, status and
    /// expiry window, sorted by expiry (then account, then id; instances without an expiry
    /// last), `limit` at a time after the cursor.
    pub fn renewals(&self, query: RenewalQuery) -> Result<Page<SubscriptionView>, EngineError> {
        let limit = query.limit.clamp(1, PAGE_LIMIT_MAX);
        if let Some(tab) = &query.tab
            && !RENEWAL_TABS.contains(&tab.as_str())
        {
            return Err(Refusal::invalid(format!(
                "unknown tab {tab:?} (manual, auto, payg_after_expiry, canceled)"
            ))
            .into());
        }
        if let Some(status) = &query.status
            && SubStatus::parse(status).is_none()
        {
            let all: Vec<&str> = SubStatus::ALL.iter().map(|s| s.as_str()).collect();
            return Err(Refusal::invalid(format!(
                "unknown status {status:?} ({})",
                all.join(", ")
            ))
            .into());
        }
        if let Some(product) = &query.product {
            self.product(product)?;
        }
        let (from_us, before_us) = window(&query, self.now())?;
        let after = query.after.as_deref().map(parse_cursor).transpose()?;
        let store_query = SubscriptionQuery {
            account_id: query.account.as_ref().map(AccountId::as_str),
            mode: query.tab.as_deref(),
            product: query.product.as_deref(),
            status: query.status.as_deref(),
            expires_from_us: from_us,
            expires_before_us: before_us,
            after,
        };
        // One snapshot for the rows and the states they are read from.
        let (rows, states) = self.store.read(|tx| {
            let rows = tx.list_subscriptions(&store_query, limit + 1)?;
            let mut states: HashMap<String, AccountState> = HashMap::new();
            for r in rows.iter().take(limit) {
                if states.contains_key(&r.account_id) {
                    continue;
                }
                let row = tx.get_account(&r.account_id)?.ok_or_else(|| {
                    EngineError::Corrupt(format!("subscription of no account {:?}", r.account_id))
                })?;
                states.insert(r.account_id.clone(), serde_json::from_str(&row.state)?);
            }
            Ok::<_, EngineError>((rows, states))
        })?;
        let mut items = Vec::with_capacity(limit.min(rows.len()));
        for r in rows.iter().take(limit) {
            let state = &states[&r.account_id];
            let id = SubscriptionId::parse(&r.id).map_err(|x| EngineError::Corrupt(x.detail))?;
            let sub = state.subscription(id).ok_or_else(|| {
                EngineError::Corrupt(format!("{} has no subscription {id}", r.account_id))
            })?;
            items.push(SubscriptionView::of(state, sub));
        }
        let next = if rows.len() > limit {
            rows.get(limit - 1).map(cursor_of)
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// Runs a bulk command's items one account transaction each, in input order, with the
    /// idempotency of the module doc.
    fn batch<I, T, F>(
        &self,
        idem: Option<&Idem>,
        items: &[I],
        mut run: F,
    ) -> Result<Vec<T>, EngineError>
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
        F: FnMut(&I, Option<&Idem>) -> Result<T, EngineError>,
    {
        if let Some(idem) = idem
            && let Some(found) = self
                .store
                .read(|tx| crate::engine::replay(tx, Some(idem)))?
        {
            return Ok(found);
        }
        let mut results = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_idem = idem.map(|b| Idem {
                scope: b.scope.clone(),
                key: format!("{}#{i}", b.key),
                request_hash: b.request_hash.clone(),
            });
            results.push(run(item, item_idem.as_ref())?);
        }
        if idem.is_some() {
            let now = self.now();
            self.store.write(|tx| {
                // A concurrent resend of the same batch may have finished first: its answer is
                // the same, item by item, so either record will do.
                if crate::engine::replay::<serde_json::Value>(tx, idem)?.is_none() {
                    crate::engine::remember(tx, idem, &results, now)?;
                }
                Ok::<_, EngineError>(())
            })?;
        }
        Ok(results)
    }
}

/// Refuses a batch over [`SUB_BATCH_ITEMS_MAX`] items, empty, or naming an instance twice.
fn check_batch<'a>(
    items: impl ExactSizeIterator<Item = (&'a AccountId, SubscriptionId)>,
) -> Result<(), Refusal> {
    let n = items.len();
    if n == 0 || n > SUB_BATCH_ITEMS_MAX {
        return Err(Refusal::invalid(format!(
            "a batch carries 1–{SUB_BATCH_ITEMS_MAX} items, not {n}"
        )));
    }
    let mut seen = HashSet::with_capacity(n);
    for (account, sub) in items {
        if !seen.insert((account, sub)) {
            return Err(Refusal::invalid(format!(
                "the batch names {account}/{sub} more than once"
            )));
        }
    }
    Ok(())
}

/// The instance `id` of `s`, or `not_found`.
fn sub_of(s: &AccountState, id: SubscriptionId) -> Result<&Subscription, Refusal> {
    s.subscription(id)
        .ok_or_else(|| Refusal::not_found(format!("no subscription {id}")))
}

fn view(s: &AccountState, id: SubscriptionId) -> Result<SubscriptionView, Refusal> {
    Ok(SubscriptionView::of(s, sub_of(s, id)?))
}

/// The expiry window of a listing: [from, before) in µs.
fn window(q: &RenewalQuery, now: Timestamp) -> Result<(Option<i64>, Option<i64>), Refusal> {
    if let Some(days) = q.expires_within_days {
        if q.expires_from.is_some() || q.expires_to.is_some() {
            return Err(Refusal::invalid(
                "give expires_within_days or an expires_from/expires_to range, not both",
            ));
        }
        if days == 0 || days > EXPIRES_WITHIN_DAYS_MAX {
            return Err(Refusal::invalid(format!(
                "expires_within_days must be 1–{EXPIRES_WITHIN_DAYS_MAX}, not {days}"
            )));
        }
        let from = now.as_microsecond();
        // Inclusive of the window's last instant.
        let before = from + i64::from(days) * MICROS_PER_DAY + 1;
        return Ok((Some(from), Some(before)));
    }
    let from = q.expires_from.map(|t| t.as_microsecond());
    let before = q.expires_to.map(|t| t.as_microsecond());
    if let (Some(f), Some(b)) = (from, before)
        && b < f
    {
        return Err(Refusal::invalid("expires_to is before expires_from"));
    }
    Ok((from, before))
}

/// The cursor after a row: `<expiry µs or "none">,<account>,<id>` (neither id holds a comma).
fn cursor_of(r: &SubscriptionRow) -> String {
    let expires = r
        .expires_us
        .map_or_else(|| "none".to_string(), |us| us.to_string());
    format!("{expires},{},{}", r.account_id, r.id)
}

fn parse_cursor(text: &str) -> Result<SubscriptionCursor, Refusal> {
    let bad = || Refusal::invalid(format!("after {text:?} is not a cursor this listing gave"));
    let mut parts = text.splitn(3, ',');
    let (Some(expires), Some(account), Some(id)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let expires_us = match expires {
        "none" => None,
        us => Some(us.parse::<i64>().map_err(|_| bad())?),
    };
    Ok(SubscriptionCursor {
        expires_us,
        account_id: account.to_string(),
        id: id.to_string(),
    })
}

/// SUB-8: the projection rows of every instance of the account.
pub(crate) fn projection(state: &AccountState) -> Vec<SubscriptionRow> {
    state
        .subscriptions
        .iter()
        .map(|sub| SubscriptionRow {
            account_id: state.id.to_string(),
            id: sub.id.to_string(),
            product: sub.product.clone(),
            edition: sub.edition.clone(),
            status: sub.status.as_str().to_string(),
            mode: sub.mode.as_str().to_string(),
            expires_us: sub.expires_at.map(|t| t.as_microsecond()),
        })
        .collect()
}

/// SUB-8: the projection rows of the account that differ from `before` (its rows when it was
/// loaded).
pub(crate) fn changed(before: &[SubscriptionRow], state: &AccountState) -> Vec<SubscriptionRow> {
    // Instances are only ever appended, so the one at an index is the one that was there.
    projection(state)
        .into_iter()
        .enumerate()
        .filter(|(i, r)| before.get(*i) != Some(r))
        .map(|(_, r)| r)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenure_core::ErrorCode;

    #[test]
    fn cursors_round_trip() {
        for expires_us in [Some(1_767_225_600_000_000), None] {
            let row = SubscriptionRow {
                account_id: "acme:eu-1".into(),
                id: "s12".into(),
                product: "phone".into(),
                edition: "phone-std".into(),
                status: "active".into(),
                mode: "auto".into(),
                expires_us,
            };
            let c = parse_cursor(&cursor_of(&row)).unwrap();
            assert_eq!(
                (c.expires_us, c.account_id.as_str(), c.id.as_str()),
                (expires_us, "acme:eu-1", "s12")
            );
        }
        assert_eq!(
            parse_cursor("x,a,s1").unwrap_err().code,
            ErrorCode::InvalidInput
        );
        assert_eq!(
            parse_cursor("12").unwrap_err().code,
            ErrorCode::InvalidInput
        );
    }
}
