//! Bearer API keys (IAM-1, IAM-3, IAM-5): the operator key, which reaches everything, and
//! account-scoped keys with permissions. Only hashes are stored; a secret is shown once.

use crate::problem::Problem;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use serde::{Deserialize, Serialize};
use tenure_core::ids::AccountId;
use tenure_store::{ApiKeyRow, Store, StoreError};
use utoipa::ToSchema;

/// The key id the operator key acts under (the scope of its idempotency keys, audit).
pub const OPERATOR_KEY_ID: &str = "operator";

/// The `meta` entry that holds the hash of the operator key.
pub const ADMIN_KEY_HASH_META: &str = "admin_key_hash";

/// Prefix of every secret: the operator's and accounts' keys look alike on purpose.
pub const SECRET_PREFIX: &str = "tnr_";

/// Prefix of a key's public id.
pub const KEY_ID_PREFIX: &str = "key_";

/// The shortest operator key accepted from the environment.
pub const ADMIN_KEY_LEN_MIN: usize = 16;

/// The longest bearer token read (anything longer cannot be one of ours).
pub const BEARER_LEN_MAX: usize = 512;

/// A permission an API key may hold (IAM-1).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
pub enum Permission {
    /// Read balances, coupons, notices, events and the journal.
    #[serde(rename = "billing:read")]
    BillingRead,
    /// Buy, renew, top up, change renewal and alert settings.
    #[serde(rename = "billing:order")]
    BillingOrder,
    /// Report usage.
    #[serde(rename = "usage:write")]
    UsageWrite,
    /// Manage the catalog.
    #[serde(rename = "catalog:admin")]
    CatalogAdmin,
    /// Everything on the key's account, including creating its keys.
    #[serde(rename = "admin")]
    Admin,
}

impl Permission {
    pub const ALL: [Permission; 5] = [
        Permission::BillingRead,
        Permission::BillingOrder,
        Permission::UsageWrite,
        Permission::CatalogAdmin,
        Permission::Admin,
    ];

    /// The stable spelling ("billing:read").
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::BillingRead => "billing:read",
            Permission::BillingOrder => "billing:order",
            Permission::UsageWrite => "usage:write",
            Permission::CatalogAdmin => "catalog:admin",
            Permission::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

/// Who is calling: the operator, or a key scoped to one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The key's public id: the scope of its idempotency keys.
    pub key_id: String,
    pub scope: Scope,
}

/// What a key may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every account, every permission.
    Operator,
    /// One account, with these permissions.
    Account {
        account: AccountId,
        permissions: Vec<Permission>,
    },
}

/// The answer for an account a key may not see (IAM-3): the same as for one that does not exist.
fn no_account(id: &AccountId) -> Problem {
    Problem::not_found(format!("no account {:?}", id.as_str()))
}

impl Caller {
    pub fn is_operator(&self) -> bool {
        self.scope == Scope::Operator
    }

    /// Routes that are the operator's alone and name no account.
    pub fn require_operator(&self) -> Result<(), Problem> {
        if self.is_operator() {
            Ok(())
        } else {
            Err(Problem::forbidden("only the operator key may do this"))
        }
    }

    /// A route on account `id` that needs `need`. Another account answers 404 (IAM-3), the own
    /// account without the permission 403. `admin` implies every permission on the own account.
    pub fn reach(&self, id: &AccountId, need: Permission) -> Result<(), Problem> {
        match &self.scope {
            Scope::Operator => Ok(()),
            Scope::Account { account, .. } if account != id => Err(no_account(id)),
            Scope::Account { permissions, .. } => {
                if permissions.contains(&need) || permissions.contains(&Permission::Admin) {
                    Ok(())
                } else {
                    Err(Problem::forbidden(format!(
                        "this key lacks the {} permission",
                        need.as_str()
                    )))
                }
            }
        }
    }

    /// A route on account `id` that either of `needs` opens (the entitlement check: a billing
    /// reader or the service that reports usage). Otherwise as [`Caller::reach`].
    pub fn reach_any(&self, id: &AccountId, needs: &[Permission]) -> Result<(), Problem> {
        let mut refusal = None;
        for need in needs {
            match self.reach(id, *need) {
                Ok(()) => return Ok(()),
                Err(p) => refusal = Some(p),
            }
        }
        Err(refusal.unwrap_or_else(|| Problem::forbidden("no permission opens this route")))
    }

    /// A route that names no account in its path but acts on the key's own account, or on any
    /// for the operator (`POST /v1/usage`): the key must hold `need` (or `admin`).
    pub fn require(&self, need: Permission) -> Result<(), Problem> {
        match &self.scope {
            Scope::Operator => Ok(()),
            Scope::Account { account, .. } => self.reach(account, need),
        }
    }

    /// Whether the key may act on `id` at all: the operator on every account, an account key on
    /// its own (IAM-3).
    pub fn sees(&self, id: &str) -> bool {
        match &self.scope {
            Scope::Operator => true,
            Scope::Account { account, .. } => account.as_str() == id,
        }
    }

    /// A route on account `id` that only the operator may take (a provider decision such as
    /// verifying identity or granting a coupon). The own account answers 403, another 404.
    pub fn reach_as_operator(&self, id: &AccountId) -> Result<(), Problem> {
        match &self.scope {
            Scope::Operator => Ok(()),
            Scope::Account { account, .. } if account != id => Err(no_account(id)),
            Scope::Account { .. } => Err(Problem::forbidden("only the operator key may do this")),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let token = bearer(parts)?;
        let hash = tenure_store::hash_key(&token);
        if constant_time_eq(hash.as_bytes(), state.admin_key_hash.as_bytes()) {
            return Ok(Caller {
                key_id: OPERATOR_KEY_ID.to_string(),
                scope: Scope::Operator,
            });
        }
        let engine = state.engine.clone();
        let found = crate::blocking(move || {
            let row = engine.store().read(|tx| tx.find_api_key_by_hash(&hash))?;
            Ok(row)
        })
        .await?;
        match found {
            Some(row) if row.revoked_us.is_none() => caller_of(&row),
            _ => Err(Problem::unauthorized("unknown or revoked API key")),
        }
    }
}

/// The bearer token of the request, or the 401 that says what is missing.
fn bearer(parts: &Parts) -> Result<String, Problem> {
    let value = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
        Problem::unauthorized("missing API key: send Authorization: Bearer <key>")
    })?;
    let text = value
        .to_str()
        .map_err(|_| Problem::unauthorized("the Authorization header is not ASCII"))?;
    let (scheme, token) = text.trim().split_once(' ').unwrap_or((text, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Problem::unauthorized(
            "unsupported authorization scheme: send Authorization: Bearer <key>",
        ));
    }
    let token = token.trim();
    if token.is_empty() || token.len() > BEARER_LEN_MAX {
        return Err(Problem::unauthorized("unknown or revoked API key"));
    }
    Ok(token.to_string())
}

fn caller_of(row: &ApiKeyRow) -> Result<Caller, Problem> {
    let permissions = decode_permissions(&row.permissions).map_err(|bad| {
        tracing::error!(key = %row.id, permission = %bad, "stored API key has an unknown permission");
        Problem::internal()
    })?;
    let scope = match &row.account_id {
        None => Scope::Operator,
        Some(id) => Scope::Account {
            account: AccountId::parse(id).map_err(|r| {
                tracing::error!(key = %row.id, detail = %r.detail, "stored API key names a bad account");
                Problem::internal()
            })?,
            permissions,
        },
    };
    Ok(Caller {
        key_id: row.id.clone(),
        scope,
    })
}

/// Equality in time independent of where the inputs differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Permissions as stored: space-separated, sorted.
pub fn encode_permissions(permissions: &[Permission]) -> String {
    let mut sorted = permissions.to_vec();
    sorted.sort();
    sorted.dedup();
    sorted
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The inverse of [`encode_permissions`]; the unknown word on failure.
pub fn decode_permissions(text: &str) -> Result<Vec<Permission>, String> {
    text.split_whitespace()
        .map(|w| Permission::parse(w).ok_or_else(|| w.to_string()))
        .collect()
}

/// The operator key as the server knows it: only its hash, plus the plaintext once when it was
/// generated just now (print it, it cannot be recovered later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminKey {
    /// [`tenure_store::hash_key`] of the key: what [`crate::ServerConfig::admin_key_hash`] takes.
    pub hash: String,
    /// The plaintext, only when this call generated it.
    pub generated: Option<String>,
}

/// Why the operator key could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AdminKeyError {
    #[error("TENURE_ADMIN_KEY must be at least {ADMIN_KEY_LEN_MIN} characters without spaces")]
    TooWeak,
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// Sets up the operator key (IAM-5). With a key from the environment, its hash replaces the
/// stored one (the environment rotates it). Without, the stored hash is used; at the first start
/// a key is generated, its hash stored, and the plaintext returned this once.
pub fn ensure_admin_key(
    store: &Store,
    from_env: Option<String>,
) -> Result<AdminKey, AdminKeyError> {
    if let Some(key) = from_env {
        let key = key.trim().to_string();
        if key.len() < ADMIN_KEY_LEN_MIN || key.contains(char::is_whitespace) {
            return Err(AdminKeyError::TooWeak);
        }
        let hash = tenure_store::hash_key(&key);
        store.write(|tx| tx.meta_set(ADMIN_KEY_HASH_META, &hash))?;
        return Ok(AdminKey {
            hash,
            generated: None,
        });
    }
    let fresh = tenure_store::new_secret(SECRET_PREFIX);
    let fresh_hash = tenure_store::hash_key(&fresh);
    // Read and insert in one write transaction, so two first starts agree on one key.
    let stored = store.write(|tx| match tx.meta_get(ADMIN_KEY_HASH_META)? {
        Some(h) => Ok::<_, StoreError>(Some(h)),
        None => {
            tx.meta_set(ADMIN_KEY_HASH_META, &fresh_hash)?;
            Ok(None)
        }
    })?;
    Ok(match stored {
        Some(hash) => AdminKey {
            hash,
            generated: None,
        },
        None => AdminKey {
            hash: fresh_hash,
            generated: Some(fresh),
        },
    })
}

/// The hash the server compares bearer tokens against, for a known plaintext operator key.
pub fn hash_admin_key(plaintext: &str) -> String {
    tenure_store::hash_key(plaintext)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_round_trip() {
        let all = Permission::ALL.to_vec();
        assert_eq!(decode_permissions(&encode_permissions(&all)), Ok(all));
        assert_eq!(
            decode_permissions("billing:read nope"),
            Err("nope".to_string())
        );
        assert_eq!(
            encode_permissions(&[
                Permission::Admin,
                Permission::BillingRead,
                Permission::Admin
            ]),
            "billing:read admin"
        );
    }

    #[test]
    fn iam_3_another_account_is_404_and_own_without_permission_403() {
        let acme = AccountId::parse("acme").expect("valid id");
        let other = AccountId::parse("other").expect("valid id");
        let caller = Caller {
            key_id: "key_1".into(),
            scope: Scope::Account {
                account: acme.clone(),
                permissions: vec![Permission::BillingRead],
            },
        };
        assert!(caller.reach(&acme, Permission::BillingRead).is_ok());
        assert_eq!(
            caller
                .reach(&acme, Permission::BillingOrder)
                .map_err(|p| p.status),
            Err(403)
        );
        assert_eq!(
            caller
                .reach(&other, Permission::BillingRead)
                .map_err(|p| p.status),
            Err(404)
        );
        assert_eq!(
            caller.reach_as_operator(&other).map_err(|p| p.status),
            Err(404)
        );
        assert_eq!(
            caller.reach_as_operator(&acme).map_err(|p| p.status),
            Err(403)
        );
        assert!(constant_time_eq(b"abc", b"abc") && !constant_time_eq(b"abc", b"abd"));
    }
}
