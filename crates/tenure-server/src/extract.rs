//! Extractors that parse at the boundary and answer every bad input with an `invalid_input`
//! problem, never with axum's plain-text rejections.

use crate::problem::Problem;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::{HeaderMap, Method, header, request::Parts};
use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer, Visitor};
use sha2::{Digest, Sha256};
use tenure_core::ids::AccountId;
use tenure_engine::Idem;

/// The largest request body accepted: 1 MiB.
pub const BODY_BYTES_MAX: usize = 1024 * 1024;

/// The longest `Idempotency-Key` accepted (Stripe's limit).
pub const IDEMPOTENCY_KEY_LEN_MAX: usize = 255;

/// A JSON request body of at most `MAX` bytes, parsed into `T`, with the bytes it was parsed
/// from (for the request hash of an `Idempotency-Key`).
#[derive(Debug)]
pub struct JsonBody<T, const MAX: usize = BODY_BYTES_MAX> {
    pub value: T,
    pub raw: Bytes,
}

impl<S: Send + Sync, T: DeserializeOwned, const MAX: usize> FromRequest<S> for JsonBody<T, MAX> {
    type Rejection = Problem;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Problem> {
        check_json_content_type(req.headers())?;
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX as u64) {
            return Err(too_large(MAX));
        }
        let raw = axum::body::to_bytes(req.into_body(), MAX)
            .await
            .map_err(|_| too_large(MAX))?;
        let value = parse_json(&raw)?;
        Ok(JsonBody { value, raw })
    }
}

fn too_large(max: usize) -> Problem {
    let mib = max / (1024 * 1024);
    Problem::invalid(format!(
        "the request body could not be read whole or is larger than {max} bytes ({mib} MiB)"
    ))
}

/// A body must be JSON; a request that names another media type is refused. One that names
/// none is read as JSON.
fn check_json_content_type(headers: &HeaderMap) -> Result<(), Problem> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let text = value.to_str().unwrap_or("");
    let essence = text
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
    {
        Ok(())
    } else {
        Err(Problem::invalid(format!(
            "Content-Type {text:?} is not JSON; send application/json"
        )))
    }
}

/// Parses a JSON body with a detail that says what is wrong and where.
pub fn parse_json<T: DeserializeOwned>(raw: &[u8]) -> Result<T, Problem> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(Problem::invalid(
            "the request body is empty; send a JSON object",
        ));
    }
    // Serde would read a struct from an array too (`["1.00"]`); the API takes objects only.
    let first = raw.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return match serde_json::from_slice::<serde::de::IgnoredAny>(raw) {
            Err(e) => Err(Problem::invalid(format!("malformed JSON: {e}"))),
            Ok(_) => Err(Problem::invalid("the request body must be a JSON object")),
        };
    }
    serde_json::from_slice(raw).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
                Problem::invalid(format!("malformed JSON: {e}"))
            }
            Category::Data => Problem::invalid(format!("invalid request body: {e}")),
        }
    })
}

/// Query parameters parsed into `T`; a bad or unknown parameter is `invalid_input`.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Params(value)),
            Err(rejection) => Err(Problem::invalid(format!(
                "bad query parameters: {}",
                rejection.body_text()
            ))),
        }
    }
}

/// The `{id}` of an account path, parsed. A malformed id is `invalid_input`.
#[derive(Debug, Clone)]
pub struct AccountPath(pub AccountId);

impl<S: Send + Sync> FromRequestParts<S> for AccountPath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|r| Problem::invalid(format!("bad path: {}", r.body_text())))?;
        Ok(AccountPath(AccountId::parse(&id)?))
    }
}

/// The `{id}` and `{item}` of a path below an account (`/v1/accounts/{id}/plans/{plan}`): the
/// account parsed, the item as sent (its resource parses it; a malformed one names nothing, so
/// it is `not_found`).
#[derive(Debug, Clone)]
pub struct AccountItemPath(pub AccountId, pub String);

impl<S: Send + Sync> FromRequestParts<S> for AccountItemPath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let Path((id, item)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|r| Problem::invalid(format!("bad path: {}", r.body_text())))?;
        Ok(AccountItemPath(AccountId::parse(&id)?, item))
    }
}

/// The `Idempotency-Key` of a request, if it sent one, with the method and path it came with.
#[derive(Debug, Clone)]
pub struct IdemKey(Option<IdemParts>);

#[derive(Debug, Clone)]
struct IdemParts {
    key: String,
    method: Method,
    path: String,
}

impl IdemKey {
    /// The engine's form: scoped to the caller's key, bound to method, path and body.
    pub fn resolve(&self, scope: &str, body: &[u8]) -> Option<Idem> {
        self.0.as_ref().map(|p| Idem {
            scope: scope.to_string(),
            key: p.key.clone(),
            request_hash: request_hash(&p.method, &p.path, body),
        })
    }
}

/// sha256 hex of method, path and body, each separated so no two requests share a digest.
pub fn request_hash(method: &Method, path: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_str().as_bytes());
    h.update(b"\n");
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
}

impl<S: Send + Sync> FromRequestParts<S> for IdemKey {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(IdemKey(None));
        };
        let key = value
            .to_str()
            .ok()
            .filter(|k| !k.is_empty() && k.len() <= IDEMPOTENCY_KEY_LEN_MAX)
            .filter(|k| k.bytes().all(|b| b.is_ascii_graphic() || b == b' '))
            .ok_or_else(|| {
                Problem::invalid(format!(
                    "Idempotency-Key must be 1–{IDEMPOTENCY_KEY_LEN_MAX} printable ASCII characters"
                ))
            })?;
        Ok(IdemKey(Some(IdemParts {
            key: key.to_string(),
            method: parts.method.clone(),
            path: parts.uri.path().to_string(),
        })))
    }
}

/// An amount as the API writes it: a JSON string such as `"100.00"`. JSON numbers are refused, so
/// no amount ever passes through a float (ACC-1). Parsed against a currency later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoneyText(pub String);

impl<'de> Deserialize<'de> for MoneyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = MoneyText;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an amount as a JSON string such as \"100.00\" (numbers are refused: money is never a float)")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<MoneyText, E> {
                Ok(MoneyText(v.to_string()))
            }
        }
        d.deserialize_str(V)
    }
}

/// Deserialises a field that may be absent (outer `None`), null (`Some(None)`) or a value.
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        amount: MoneyText,
    }

    #[test]
    fn money_must_be_a_string() {
        let ok: Body = parse_json(br#"{"amount":"1.00"}"#).expect("a string amount parses");
        assert_eq!(ok.amount, MoneyText("1.00".into()));
        let p = parse_json::<Body>(br#"{"amount":1}"#).expect_err("a number is refused");
        assert_eq!(p.code(), "invalid_input");
        assert!(p.detail.contains("JSON string"), "{}", p.detail);
        let p = parse_json::<Body>(br#"{"amount":"1.00","x":1}"#).expect_err("unknown field");
        assert!(p.detail.contains("unknown field"), "{}", p.detail);
        let p = parse_json::<Body>(b"{").expect_err("malformed");
        assert!(p.detail.starts_with("malformed JSON"), "{}", p.detail);
    }

    #[test]
    fn request_hashes_differ_by_method_path_and_body() {
        let a = request_hash(&Method::POST, "/v1/a", b"{}");
        assert_eq!(a.len(), 64);
        assert_ne!(a, request_hash(&Method::PATCH, "/v1/a", b"{}"));
        assert_ne!(a, request_hash(&Method::POST, "/v1/b", b"{}"));
        assert_ne!(a, request_hash(&Method::POST, "/v1/a", b"{ }"));
    }
}
