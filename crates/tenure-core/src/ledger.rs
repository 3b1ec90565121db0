//! The double-entry journal (ACC-2). Every movement of money (and later of quota) is a
//! transaction whose entries sum to zero per unit. Balances are a fold over the journal: the
//! cached [`Books`] in an account's state are always equal to [`Books::rebuild`] of its journal.

use crate::error::Refusal;
use crate::ids::{BillId, CouponId, PlanId};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A book (ledger account) inside one customer account's ledger.
///
/// Sign convention: a positive balance is value held for the customer (cash, coupon credit);
/// a negative `Unpaid` balance is the customer's debt. `Funding`, `Promotion` and `Revenue` are
/// the provider's side and mirror the customer's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Book {
    /// The customer's cash balance. Negative while the credit line is in use.
    Cash,
    /// What is left of one coupon.
    Coupon(CouponId),
    /// What one bill still owes (negative while unpaid).
    Unpaid(BillId),
    /// What the provider earned from one product.
    Revenue(String),
    /// Money that came in from outside (top-ups).
    Funding,
    /// The provider's promotional budget (coupons granted, coupons expired back).
    Promotion,
    /// Quota a plan still holds (unit [`QUOTA_UNIT`]), reserved units included.
    Plan(PlanId),
    /// Quota the provider issued into plans.
    QuotaIssued,
    /// Quota consumed by usage.
    QuotaUsed,
    /// Quota forfeited at expiry, reset or refund (PLAN-6).
    QuotaForfeited,
}

/// The unit of quota entries: plan units, whatever the meter.
pub const QUOTA_UNIT: &str = "quota";

impl std::fmt::Display for Book {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Book::Cash => f.write_str("cash"),
            Book::Coupon(id) => write!(f, "coupon:{id}"),
            Book::Unpaid(id) => write!(f, "unpaid:{id}"),
            Book::Revenue(p) => write!(f, "revenue:{p}"),
            Book::Funding => f.write_str("funding"),
            Book::Promotion => f.write_str("promotion"),
            Book::Plan(id) => write!(f, "plan:{id}"),
            Book::QuotaIssued => f.write_str("quota_issued"),
            Book::QuotaUsed => f.write_str("quota_used"),
            Book::QuotaForfeited => f.write_str("quota_forfeited"),
        }
    }
}

impl std::str::FromStr for Book {
    type Err = Refusal;
    fn from_str(s: &str) -> Result<Book, Refusal> {
        let bad = || Refusal::invalid(format!("unknown book {s:?}"));
        Ok(match s.split_once(':') {
            None => match s {
                "cash" => Book::Cash,
                "funding" => Book::Funding,
                "promotion" => Book::Promotion,
                "quota_issued" => Book::QuotaIssued,
                "quota_used" => Book::QuotaUsed,
                "quota_forfeited" => Book::QuotaForfeited,
                _ => return Err(bad()),
            },
            Some(("coupon", id)) => Book::Coupon(CouponId::parse(id).map_err(|_| bad())?),
            Some(("unpaid", id)) => Book::Unpaid(BillId::parse(id).map_err(|_| bad())?),
            Some(("revenue", p)) if !p.is_empty() => Book::Revenue(p.to_string()),
            Some(("plan", id)) => Book::Plan(PlanId::parse(id).map_err(|_| bad())?),
            Some(_) => return Err(bad()),
        })
    }
}

impl Serialize for Book {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Book {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Book, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map_err(|r: Refusal| serde::de::Error::custom(r.detail))
    }
}

/// One line of a journal transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub book: Book,
    /// A currency code, or a meter id for quota movements.
    pub unit: String,
    pub amount: Decimal,
}

/// A journal transaction: entries that sum to zero per unit. `seq` is the account's own sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalTx {
    pub seq: i64,
    pub at: jiff::Timestamp,
    /// What happened, e.g. `top_up`, `coupon.granted`, `charge`, `coupon.expired`.
    pub kind: String,
    pub entries: Vec<Entry>,
    /// Free-form details (order, product, payment split).
    pub data: serde_json::Value,
}

impl JournalTx {
    /// Whether the entries sum to zero for every unit.
    pub fn is_balanced(&self) -> bool {
        let mut sums: BTreeMap<&str, Decimal> = BTreeMap::new();
        for e in &self.entries {
            *sums.entry(e.unit.as_str()).or_default() += e.amount;
        }
        sums.values().all(|s| s.is_zero())
    }
}

/// Balances by (unit, book), derived from the journal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Books(BTreeMap<String, BTreeMap<Book, Decimal>>);

impl Books {
    /// Adds a transaction's entries. Asserts the transaction balances (ACC-2): an unbalanced
    /// transaction is a programmer error and never reaches storage.
    pub fn apply(&mut self, tx: &JournalTx) {
        assert!(tx.is_balanced(), "unbalanced journal transaction {tx:?}");
        for e in &tx.entries {
            let unit = self.0.entry(e.unit.clone()).or_default();
            let bal = unit.entry(e.book.clone()).or_default();
            *bal += e.amount;
            if bal.is_zero() && !matches!(e.book, Book::Cash) {
                unit.remove(&e.book);
            }
        }
    }

    /// The balance of one book in one unit (zero if it never moved).
    pub fn get(&self, unit: &str, book: &Book) -> Decimal {
        self.0
            .get(unit)
            .and_then(|u| u.get(book))
            .copied()
            .unwrap_or_default()
    }

    /// All non-zero books of one unit.
    pub fn of_unit(&self, unit: &str) -> impl Iterator<Item = (&Book, &Decimal)> {
        self.0.get(unit).into_iter().flat_map(|u| u.iter())
    }

    /// Folds a whole journal into balances: the definition every cached balance must equal.
    pub fn rebuild<'a>(journal: impl IntoIterator<Item = &'a JournalTx>) -> Books {
        let mut books = Books::default();
        for tx in journal {
            books.apply(tx);
        }
        books
    }

    /// Sum over every book of every unit: zero for any journal of balanced transactions.
    pub fn total(&self, unit: &str) -> Decimal {
        self.of_unit(unit).map(|(_, a)| *a).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(entries: Vec<(Book, &str, i64)>) -> JournalTx {
        JournalTx {
            seq: 1,
            at: jiff::Timestamp::UNIX_EPOCH,
            kind: "test".into(),
            entries: entries
                .into_iter()
                .map(|(book, unit, a)| Entry {
                    book,
                    unit: unit.into(),
                    amount: Decimal::from(a),
                })
                .collect(),
            data: serde_json::Value::Null,
        }
    }

    #[test]
    fn acc_2_books_are_a_fold_of_balanced_transactions() {
        let t1 = tx(vec![(Book::Funding, "CNY", -100), (Book::Cash, "CNY", 100)]);
        let t2 = tx(vec![
            (Book::Cash, "CNY", -45),
            (Book::Revenue("sms".into()), "CNY", 45),
        ]);
        let books = Books::rebuild([&t1, &t2]);
        assert_eq!(books.get("CNY", &Book::Cash), Decimal::from(55));
        assert_eq!(
            books.get("CNY", &Book::Revenue("sms".into())),
            Decimal::from(45)
        );
        assert_eq!(books.total("CNY"), Decimal::ZERO);
    }

    #[test]
    #[should_panic(expected = "unbalanced")]
    fn acc_2_an_unbalanced_transaction_is_refused() {
        Books::default().apply(&tx(vec![(Book::Cash, "CNY", 100)]));
    }

    #[test]
    fn books_round_trip_through_their_names() {
        for b in [
            Book::Cash,
            Book::Coupon(CouponId(2)),
            Book::Unpaid(BillId(7)),
            Book::Revenue("sms".into()),
            Book::Funding,
            Book::Promotion,
            Book::Plan(PlanId(4)),
            Book::QuotaIssued,
            Book::QuotaUsed,
            Book::QuotaForfeited,
        ] {
            assert_eq!(b.to_string().parse::<Book>().unwrap(), b);
        }
        assert!("revenue:".parse::<Book>().is_err());
        assert!("bogus".parse::<Book>().is_err());
    }
}
