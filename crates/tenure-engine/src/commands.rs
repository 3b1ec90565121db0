//! Account commands (ACC-1…7) as the engine offers them: arguments already parsed at the
//! boundary, one account transaction each.

use crate::engine::{Engine, Idem};
use crate::error::EngineError;
use crate::views::{AccountView, CouponView, EntryView, JournalView, MessageView, Page};
use tenure_core::account::{AccountState, Effects, OpenAccount};
use tenure_core::ids::AccountId;
use tenure_core::message::Audience;
use tenure_core::span::format_in_zone;
use tenure_core::{Decimal, Refusal, Span, Timestamp};

/// The longest page any list returns.
pub const PAGE_LIMIT_MAX: usize = 500;
const _: () = assert!(PAGE_LIMIT_MAX < tenure_store::PAGE_ROWS_MAX);

/// When a coupon lapses: after a span from its grant, at an instant, or never.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CouponExpiry {
    Never,
    In(Span),
    At(Timestamp),
}

impl Engine {
    /// Opens an account (ACC-1: one currency; TIME-1: one zone).
    pub fn open_account(
        &self,
        req: OpenAccount,
        idem: Option<&Idem>,
    ) -> Result<AccountView, EngineError> {
        let currency = self.catalog.currency;
        self.create(idem, |now| {
            let state = AccountState::open(req.clone(), currency, now)?;
            let view = AccountView::of(&state, now);
            Ok((state, view, Effects::default()))
        })
    }

    /// ACC-6: marks the account's identity verified.
    pub fn verify_identity(
        &self,
        id: &AccountId,
        idem: Option<&Idem>,
    ) -> Result<AccountView, EngineError> {
        self.mutate(id, idem, |s, now| {
            let fx = s.verify_identity();
            Ok((AccountView::of(s, now), fx))
        })
    }

    /// ACC-5: adds cash and settles unpaid bills.
    pub fn top_up(
        &self,
        id: &AccountId,
        amount: Decimal,
        idem: Option<&Idem>,
    ) -> Result<AccountView, EngineError> {
        let policy = self.policy.clone();
        self.mutate(id, idem, |s, now| {
            let fx = s.top_up(&self.catalog, amount, &policy, now)?;
            Ok((AccountView::of(s, now), fx))
        })
    }

    /// Grants a coupon for the named products (all when `None`); every product must exist.
    pub fn grant_coupon(
        &self,
        id: &AccountId,
        amount: Decimal,
        products: Option<Vec<String>>,
        expiry: CouponExpiry,
        idem: Option<&Idem>,
    ) -> Result<CouponView, EngineError> {
        if let Some(ps) = &products {
            if ps.is_empty() {
                return Err(
                    Refusal::invalid("products, when given, names at least one product").into(),
                );
            }
            for p in ps {
                if self.catalog.product(p).is_none() {
                    return Err(Refusal::not_found(format!("no product {p:?}")).into());
                }
            }
        }
        self.mutate(id, idem, |s, now| {
            let expires_at = match expiry {
                CouponExpiry::Never => None,
                CouponExpiry::At(t) => Some(t),
                CouponExpiry::In(span) => {
                    if span.count <= 0 {
                        return Err(Refusal::invalid("expires_in must be positive"));
                    }
                    Some(span.add_to(now, &s.time_zone())?)
                }
            };
            let (coupon, fx) = s.grant_coupon(amount, products.clone(), expires_at, now)?;
            let view = CouponView::list(s, now)
                .into_iter()
                .find(|c| c.id == coupon.to_string())
                .ok_or_else(|| Refusal::invalid("coupon vanished"))?;
            Ok((view, fx))
        })
    }

    /// ACC-7: sets or clears the low-balance threshold.
    pub fn set_low_balance_threshold(
        &self,
        id: &AccountId,
        threshold: Option<Decimal>,
        idem: Option<&Idem>,
    ) -> Result<AccountView, EngineError> {
        self.mutate(id, idem, |s, now| {
            let fx = s.set_low_balance_threshold(threshold)?;
            Ok((AccountView::of(s, now), fx))
        })
    }

    /// Accounts by id, `limit` at a time after the cursor.
    pub fn list_accounts(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<AccountView>, EngineError> {
        let limit = limit.clamp(1, PAGE_LIMIT_MAX);
        let now = self.now();
        let rows = self.store.list_accounts(after, limit + 1)?;
        let mut items = Vec::new();
        for row in rows.iter().take(limit) {
            let state: AccountState = serde_json::from_str(&row.state)?;
            items.push(AccountView::of(&state, now));
        }
        let next = if rows.len() > limit {
            items.last().map(|a| a.id.clone())
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// The account's coupons.
    pub fn coupons(&self, id: &AccountId) -> Result<Vec<CouponView>, EngineError> {
        let state = self.load(id)?;
        Ok(CouponView::list(&state, self.now()))
    }

    /// Customer notices (`Audience::Notice`) or provider events, oldest first, after a cursor.
    pub fn messages(
        &self,
        id: &AccountId,
        audience: Audience,
        kind: Option<&str>,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Page<MessageView>, EngineError> {
        let state = self.load(id)?;
        let zone = state.time_zone();
        let limit = limit.clamp(1, PAGE_LIMIT_MAX);
        let rows = self.store.list_messages(
            id.as_str(),
            audience.as_str(),
            kind,
            None,
            after,
            limit + 1,
        )?;
        let mut items = Vec::new();
        for r in rows.iter().take(limit) {
            items.push(MessageView {
                seq: r.seq,
                account: r.account_id.clone(),
                kind: r.kind.clone(),
                subject: r.subject.clone(),
                at: format_in_zone(
                    Timestamp::from_microsecond(r.at_us)
                        .map_err(|e| EngineError::Corrupt(e.to_string()))?,
                    &zone,
                ),
                data: serde_json::from_str(&r.data)?,
            });
        }
        let next = if rows.len() > limit {
            items.last().map(|m| m.seq.to_string())
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// Counts an account's messages of a kind (exactly, over all time).
    pub fn count_messages(
        &self,
        id: &AccountId,
        audience: Audience,
        kind: &str,
        subject: Option<&str>,
    ) -> Result<i64, EngineError> {
        Ok(self
            .store
            .count_messages(id.as_str(), audience.as_str(), Some(kind), subject)?)
    }

    /// The account's journal (ACC-2), oldest first, after a cursor.
    pub fn journal(
        &self,
        id: &AccountId,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Page<JournalView>, EngineError> {
        let state = self.load(id)?;
        let zone = state.time_zone();
        let limit = limit.clamp(1, PAGE_LIMIT_MAX);
        let rows = self.store.journal(id.as_str(), after, limit + 1)?;
        let mut items = Vec::new();
        for r in rows.iter().take(limit) {
            items.push(JournalView {
                seq: r.seq,
                at: format_in_zone(
                    Timestamp::from_microsecond(r.at_us)
                        .map_err(|e| EngineError::Corrupt(e.to_string()))?,
                    &zone,
                ),
                kind: r.kind.clone(),
                entries: r
                    .entries
                    .iter()
                    .map(|e| EntryView {
                        book: e.book.clone(),
                        unit: e.unit.clone(),
                        amount: e.amount.clone(),
                    })
                    .collect(),
                data: serde_json::from_str(&r.data)?,
            });
        }
        let next = if rows.len() > limit {
            items.last().map(|j| j.seq.to_string())
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// ACC-2: rebuilds the account's balances from its whole journal and compares them with the
    /// cached ones. `true` when they agree (always, unless storage was tampered with).
    pub fn verify_books(&self, id: &AccountId) -> Result<bool, EngineError> {
        use tenure_core::ledger::{Books, Entry, JournalTx};
        let state = self.load(id)?;
        let mut rows = Vec::new();
        loop {
            let after = rows.last().map(|r: &tenure_store::JournalRow| r.seq);
            let page = self
                .store
                .journal(id.as_str(), after, tenure_store::PAGE_ROWS_MAX)?;
            let done = page.len() < tenure_store::PAGE_ROWS_MAX;
            rows.extend(page);
            if done {
                break;
            }
        }
        let mut txs = Vec::with_capacity(rows.len());
        for r in rows {
            let mut entries = Vec::new();
            for e in r.entries {
                entries.push(Entry {
                    book: e
                        .book
                        .parse()
                        .map_err(|x: Refusal| EngineError::Corrupt(x.detail))?,
                    unit: e.unit,
                    amount: e
                        .amount
                        .parse()
                        .map_err(|_| EngineError::Corrupt(format!("amount {}", e.amount)))?,
                });
            }
            txs.push(JournalTx {
                seq: r.seq,
                at: Timestamp::from_microsecond(r.at_us)
                    .map_err(|e| EngineError::Corrupt(e.to_string()))?,
                kind: r.kind,
                entries,
                data: serde_json::Value::Null,
            });
        }
        Ok(Books::rebuild(&txs) == state.books)
    }
}
