//! Expectation verbs. Each checks only the keys it is given; amounts compare as decimals
//! ("46.00" == "46"), statuses as strings, instants as instants.

use super::{Expectation, FromArgs, Mismatch};
use crate::args::{Amount, Args};
use crate::scenario::ParseError;
use crate::sim::{Fault, ObjectKind, Sim, Subject};
use tenure_core::ids::{PlanId, SubscriptionId};
use tenure_core::message::{Audience, MessageKind};
use tenure_core::money::parse_decimal;
use tenure_core::span::parse_instant;
use tenure_core::{Decimal, Timestamp};

/// `expect_account = ID`: `cash`, `available`, `unpaid`, `coupon_remaining`, `status`.
pub(crate) struct ExpectAccount {
    cash: Option<Amount>,
    available: Option<Amount>,
    unpaid: Option<Amount>,
    coupon_remaining: Option<Amount>,
    status: Option<String>,
}

impl FromArgs for ExpectAccount {
    fn from_args(a: &mut Args<'_>) -> Result<Self, ParseError> {
        Ok(ExpectAccount {
            cash: a.expected_amount("cash")?,
            available: a.expected_amount("available")?,
            unpaid: a.expected_amount("unpaid")?,
            coupon_remaining: a.expected_amount("coupon_remaining")?,
            status: a.expected_one_of("status", &["active", "overdue"])?,
        })
    }
}

impl Expectation for ExpectAccount {
    fn check(&self, sim: &Sim, subject: &str) -> Result<Vec<Mismatch>, Fault> {
        let id = sim.account(subject)?;
        let view = sim.engine.account(&id)?;
        let mut out = Vec::new();
        for (key, expected, found) in [
            ("cash", &self.cash, &view.cash),
            ("available", &self.available, &view.available),
            ("unpaid", &self.unpaid, &view.unpaid),
            (
                "coupon_remaining",
                &self.coupon_remaining,
                &view.coupon_remaining,
            ),
        ] {
            if let Some(expected) = expected
                && expected.value != amount_of(found)?
            {
                out.push(Mismatch::key(key, &expected.text, found));
            }
        }
        if let Some(status) = &self.status
            && *status != view.status
        {
            out.push(Mismatch::key("status", status, &view.status));
        }
        Ok(out)
    }
}

/// An amount the engine showed.
fn amount_of(shown: &str) -> Result<Decimal, Fault> {
    parse_decimal(shown).map_err(|r| {
        Fault::Broken(format!(
            "the engine showed an amount {shown:?}: {}",
            r.detail
        ))
    })
}

/// `expect_notices = ID`: `kind`, `count`: exactly that many in-console notices of that kind.
pub(crate) struct ExpectNotices {
    kind: MessageKind,
    count: i64,
}

impl FromArgs for ExpectNotices {
    fn from_args(a: &mut Args<'_>) -> Result<Self, ParseError> {
        let (kind, count) = kind_and_count(a)?;
        Ok(ExpectNotices { kind, count })
    }
}

impl Expectation for ExpectNotices {
    fn check(&self, sim: &Sim, subject: &str) -> Result<Vec<Mismatch>, Fault> {
        let id = sim.account(subject)?;
        let found = sim
            .engine
            .count_messages(&id, Audience::Notice, self.kind.as_str(), None)?;
        Ok(count_mismatch(self.count, self.kind, "notices", found))
    }
}

/// `expect_events = SUBJECT`: `kind`, `count`: exactly that many provider events of that kind
/// about an account (all of that account's) or about a plan or subscription named by alias.
pub(crate) struct ExpectEvents {
    kind: MessageKind,
    count: i64,
}

impl FromArgs for ExpectEvents {
    fn from_args(a: &mut Args<'_>) -> Result<Self, ParseError> {
        let (kind, count) = kind_and_count(a)?;
        Ok(ExpectEvents { kind, count })
    }
}

impl Expectation for ExpectEvents {
    fn check(&self, sim: &Sim, subject: &str) -> Result<Vec<Mismatch>, Fault> {
        let kind = self.kind.as_str();
        let found = match sim.subject(subject)? {
            Subject::Account(id) => sim
                .engine
                .count_messages(&id, Audience::Event, kind, None)?,
            Subject::Object(o) => {
                sim.engine
                    .count_messages(&o.account, Audience::Event, kind, Some(&o.id))?
            }
        };
        Ok(count_mismatch(self.count, self.kind, "events", found))
    }
}

fn kind_and_count(a: &mut Args<'_>) -> Result<(MessageKind, i64), ParseError> {
    let kinds: Vec<&str> = MessageKind::ALL.iter().map(|k| k.as_str()).collect();
    let kind = a.expected_one_of("kind", &kinds)?;
    let count = a.expected_count("count")?;
    let kind = a.need("kind", kind)?;
    let kind =
        MessageKind::parse(&kind).ok_or_else(|| a.invalid(format!("unknown kind {kind:?}")))?;
    Ok((kind, a.need("count", count)?))
}

fn count_mismatch(expected: i64, kind: MessageKind, what: &str, found: i64) -> Vec<Mismatch> {
    if expected == found {
        return Vec::new();
    }
    vec![Mismatch {
        expected: format!("{expected} {} {what}", kind.as_str()),
        found: found.to_string(),
    }]
}

/// `expect_plan = PLAN`: `remaining`, `consumed`, `expired`, `reserved`, `status`, `expires_at`.
pub(crate) struct ExpectPlan {
    remaining: Option<i64>,
    consumed: Option<i64>,
    expired: Option<i64>,
    reserved: Option<i64>,
    status: Option<String>,
    expires_at: Option<(String, Timestamp)>,
}

impl FromArgs for ExpectPlan {
    fn from_args(a: &mut Args<'_>) -> Result<Self, ParseError> {
        Ok(ExpectPlan {
            remaining: a.expected_count("remaining")?,
            consumed: a.expected_count("consumed")?,
            expired: a.expected_count("expired")?,
            reserved: a.expected_count("reserved")?,
            status: a.expected_one_of(
                "status",
                &["active", "exhausted", "expired", "refunded", "pending"],
            )?,
            expires_at: a.expected_instant("expires_at")?,
        })
    }
}

impl Expectation for ExpectPlan {
    fn check(&self, sim: &Sim, subject: &str) -> Result<Vec<Mismatch>, Fault> {
        let object = sim.object(subject, ObjectKind::Plan)?;
        let view = sim
            .engine
            .plan(&object.account, PlanId::parse(&object.id)?)?;
        let mut out = Vec::new();
        for (key, expected, found) in [
            ("remaining", self.remaining, view.remaining),
            ("consumed", self.consumed, view.consumed),
            ("expired", self.expired, view.expired),
            ("reserved", self.reserved, view.reserved),
        ] {
            if let Some(expected) = expected
                && !same_count(expected, found)
            {
                out.push(Mismatch::key(key, expected, found));
            }
        }
        if let Some(status) = &self.status
            && *status != view.status
        {
            out.push(Mismatch::key("status", status, &view.status));
        }
        if let Some((text, expected)) = &self.expires_at
            && *expected != instant_of(&view.expires_at)?
        {
            out.push(Mismatch::key("expires_at", text, &view.expires_at));
        }
        Ok(out)
    }
}

/// Whether a count a file expects is the one the engine shows.
fn same_count(expected: i64, found: u64) -> bool {
    u64::try_from(expected).is_ok_and(|e| e == found)
}

/// An instant the engine showed.
fn instant_of(shown: &str) -> Result<Timestamp, Fault> {
    parse_instant(shown).map_err(|r| {
        Fault::Broken(format!(
            "the engine showed an instant {shown:?}: {}",
            r.detail
        ))
    })
}

/// `expect_subscription = SUB`: `status`, `expires_at`, `renewal`, `paid`.
pub(crate) struct ExpectSubscription {
    status: Option<String>,
    expires_at: Option<(String, Timestamp)>,
    renewal: Option<String>,
    paid: Option<Amount>,
}

impl FromArgs for ExpectSubscription {
    fn from_args(a: &mut Args<'_>) -> Result<Self, ParseError> {
        const STATUSES: [&str; 8] = [
            "active",
            "trial",
            "frozen",
            "grace",
            "stopped",
            "retention",
            "released",
            "payg",
        ];
        Ok(ExpectSubscription {
            status: a.expected_one_of("status", &STATUSES)?,
            expires_at: a.expected_instant("expires_at")?,
            renewal: a.expected_one_of(
                "renewal",
                &["manual", "auto", "payg_after_expiry", "canceled"],
            )?,
            paid: a.expected_amount("paid")?,
        })
    }
}

impl Expectation for ExpectSubscription {
    fn check(&self, sim: &Sim, subject: &str) -> Result<Vec<Mismatch>, Fault> {
        let object = sim.object(subject, ObjectKind::Subscription)?;
        let view = sim
            .engine
            .subscription(&object.account, SubscriptionId::parse(&object.id)?)?;
        let mut out = Vec::new();
        for (key, expected, found) in [
            ("status", &self.status, &view.status),
            ("renewal", &self.renewal, &view.renewal),
        ] {
            if let Some(expected) = expected
                && expected != found
            {
                out.push(Mismatch::key(key, expected, found));
            }
        }
        if let Some((text, expected)) = &self.expires_at {
            match view.expires_at.as_deref() {
                Some(shown) if *expected == instant_of(shown)? => {}
                Some(shown) => out.push(Mismatch::key("expires_at", text, shown)),
                None => out.push(Mismatch::key("expires_at", text, "none")),
            }
        }
        if let Some(expected) = &self.paid
            && expected.value != amount_of(&view.paid)?
        {
            out.push(Mismatch::key("paid", &expected.text, &view.paid));
        }
        Ok(out)
    }
}

/// `expect_service = ID`: `product`, `status` (`available`, `stopped`).
pub(crate) struct ExpectService {
    product: String,
    status: Option<String>,
}

impl FromArgs for ExpectService {
    fn from_args(a: &mut Args<'_>) -> Result<Self, ParseError> {
        let product = a.string("product")?;
        Ok(ExpectService {
            product: a.need("product", product)?,
            status: a.expected_one_of("status", &["available", "stopped"])?,
        })
    }
}

impl Expectation for ExpectService {
    fn check(&self, sim: &Sim, subject: &str) -> Result<Vec<Mismatch>, Fault> {
        let id = sim.account(subject)?;
        let view = sim.engine.service(&id, &self.product)?;
        let mut out = Vec::new();
        if let Some(status) = &self.status
            && *status != view.status
        {
            out.push(Mismatch::key("status", status, &view.status));
        }
        Ok(out)
    }
}

/// `expect_usage = ID`: `meter`, `from_plans`, `payg_quantity`, `payg_amount`, `refused`:
/// totals since the start over every day (PAYG-4), of one meter or, without `meter`, of all.
pub(crate) struct ExpectUsage {
    meter: Option<String>,
    from_plans: Option<i64>,
    payg_quantity: Option<i64>,
    payg_amount: Option<Amount>,
    refused: Option<i64>,
}

impl FromArgs for ExpectUsage {
    fn from_args(a: &mut Args<'_>) -> Result<Self, ParseError> {
        Ok(ExpectUsage {
            meter: a.string("meter")?,
            from_plans: a.expected_count("from_plans")?,
            payg_quantity: a.expected_count("payg_quantity")?,
            payg_amount: a.expected_amount("payg_amount")?,
            refused: a.expected_count("refused")?,
        })
    }
}

impl Expectation for ExpectUsage {
    fn check(&self, sim: &Sim, subject: &str) -> Result<Vec<Mismatch>, Fault> {
        let id = sim.account(subject)?;
        let days = sim.engine.usage_stats(&id, None, None)?;
        let (mut from_plans, mut payg_quantity, mut refused) = (0u64, 0u64, 0u64);
        let mut payg_amount = Decimal::ZERO;
        for day in days
            .iter()
            .filter(|d| self.meter.as_ref().is_none_or(|m| *m == d.meter))
        {
            from_plans += day.from_plans;
            payg_quantity += day.payg_quantity;
            refused += day.refused;
            payg_amount += amount_of(&day.payg_amount)?;
        }
        let mut out = Vec::new();
        for (key, expected, found) in [
            ("from_plans", self.from_plans, from_plans),
            ("payg_quantity", self.payg_quantity, payg_quantity),
            ("refused", self.refused, refused),
        ] {
            if let Some(expected) = expected
                && !same_count(expected, found)
            {
                out.push(Mismatch::key(key, expected, found));
            }
        }
        if let Some(expected) = &self.payg_amount
            && expected.value != payg_amount
        {
            out.push(Mismatch::key("payg_amount", &expected.text, payg_amount));
        }
        Ok(out)
    }
}

/// `expect_bills = ID`: `count`, `total`, `unpaid` (over all bills so far).
pub(crate) struct ExpectBills {
    count: Option<i64>,
    total: Option<Amount>,
    unpaid: Option<Amount>,
}

impl FromArgs for ExpectBills {
    fn from_args(a: &mut Args<'_>) -> Result<Self, ParseError> {
        Ok(ExpectBills {
            count: a.expected_count("count")?,
            total: a.expected_amount("total")?,
            unpaid: a.expected_amount("unpaid")?,
        })
    }
}

impl Expectation for ExpectBills {
    fn check(&self, sim: &Sim, subject: &str) -> Result<Vec<Mismatch>, Fault> {
        let id = sim.account(subject)?;
        let (mut count, mut total, mut unpaid) = (0u64, Decimal::ZERO, Decimal::ZERO);
        let mut after: Option<i64> = None;
        loop {
            let page = sim
                .engine
                .bills(&id, after, tenure_engine::PAGE_LIMIT_MAX)?;
            for bill in &page.items {
                count += 1;
                total += amount_of(&bill.total)?;
                unpaid += amount_of(&bill.unpaid)?;
            }
            match page.next {
                Some(next) => {
                    after = Some(next.parse().map_err(|_| {
                        Fault::Broken(format!("the engine gave a bill cursor {next:?}"))
                    })?);
                }
                None => break,
            }
        }
        let mut out = Vec::new();
        if let Some(expected) = self.count
            && !same_count(expected, count)
        {
            out.push(Mismatch::key("count", expected, count));
        }
        for (key, expected, found) in [
            ("total", &self.total, total),
            ("unpaid", &self.unpaid, unpaid),
        ] {
            if let Some(expected) = expected
                && expected.value != found
            {
                out.push(Mismatch::key(key, &expected.text, found));
            }
        }
        Ok(out)
    }
}
