//! The OpenAPI 3.1 document (utoipa): every route, its bodies, the bearer scheme, and the problem
//! responses every operation may give.

use crate::auth::Permission;
use crate::problem::Problem;
use crate::routes::{accounts, plans, subscriptions, system, usage};
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Components, ContentBuilder, ObjectBuilder, Ref, Required, Type};
use utoipa::{Modify, OpenApi};

/// The name of the security scheme every `/v1` route requires.
pub const SECURITY_SCHEME: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tenure",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
        description = "Billing engine HTTP API. Amounts are JSON strings in the account's currency; \
            instants are RFC 3339. Errors are RFC 9457 problems whose `type` ends in a stable code. \
            Every POST, PUT and PATCH takes an optional `Idempotency-Key` (Stripe semantics)."
    ),
    paths(
        accounts::open_account,
        accounts::list_accounts,
        accounts::get_account,
        accounts::update_account,
        accounts::verify_identity,
        accounts::top_up,
        accounts::grant_coupon,
        accounts::list_coupons,
        accounts::list_notices,
        accounts::list_events,
        accounts::journal,
        accounts::create_api_key,
        plans::buy_plan,
        plans::list_plans,
        plans::get_plan,
        plans::refund_plan,
        plans::renew_plan,
        plans::set_usage_alert,
        plans::set_plan_auto_renew,
        usage::ingest,
        usage::activate_payg,
        usage::list_bills,
        usage::usage_stats,
        usage::reserve,
        usage::commit,
        usage::release,
        usage::service,
        subscriptions::subscribe,
        subscriptions::list_subscriptions,
        subscriptions::get_subscription,
        subscriptions::renewal_quote,
        subscriptions::unsubscribe,
        subscriptions::continue_trial,
        subscriptions::upgrade,
        subscriptions::renew,
        subscriptions::set_renewal,
        subscriptions::list_renewals,
        system::catalog,
        system::clock,
        system::advance,
        system::healthz,
        system::metrics,
        system::openapi,
    ),
    components(schemas(Problem, Permission)),
    modifiers(&Conventions),
    tags(
        (name = "accounts", description = "Accounts, balances and the journal (ACC)"),
        (name = "coupons", description = "Coupons (ACC-4)"),
        (name = "messages", description = "Notices to the customer and events to the provider (NTF)"),
        (name = "api-keys", description = "Account-scoped API keys (IAM)"),
        (name = "plans", description = "Prepaid resource plans, usage alerts and repurchase (PLAN)"),
        (name = "usage", description = "Usage events, reservations, pay-as-you-go bills and statistics, entitlement (USE, PAYG, OVD)"),
        (name = "subscriptions", description = "Subscription instances and renewal management (SUB)"),
        (name = "catalog", description = "The loaded catalog (CAT)"),
        (name = "sandbox", description = "The sandbox clock (TIME-3); only under `tenure serve --sandbox`"),
        (name = "operations", description = "Health, metrics, this document"),
    )
)]
pub struct ApiDoc;

/// What every operation shares: bearer security on `/v1`, the `Idempotency-Key` header on writes,
/// and the problem responses.
struct Conventions;

fn problem_response(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            crate::problem::PROBLEM_CONTENT_TYPE,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
        .into()
}

fn add_problem(op: &mut Operation, status: &str, description: &str) {
    op.responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| problem_response(description));
}

fn idempotency_key() -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Up to 255 printable ASCII characters. A replay of the same request returns the stored \
             answer with the same status; the same key with a different request is refused \
             (`idempotency_key_reused`).",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(255)),
        ))
        .build()
}

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Components::new);
        components.add_security_scheme(
            SECURITY_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The operator key (all accounts) or an account-scoped key (its own account, \
                         per its permissions: billing:read, billing:order, usage:write, \
                         catalog:admin, admin).",
                    ))
                    .build(),
            ),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            let v1 = path.starts_with("/v1/");
            let writes = [item.post.as_mut(), item.put.as_mut(), item.patch.as_mut()];
            for op in writes.into_iter().flatten() {
                if v1 {
                    op.parameters
                        .get_or_insert_with(Vec::new)
                        .push(idempotency_key().into());
                    add_problem(
                        op,
                        "409",
                        "`conflict` (exists already) or `idempotency_key_reused`",
                    );
                    add_problem(
                        op,
                        "422",
                        "Refused by a billing rule (the `type` names the rule's code)",
                    );
                }
            }
            let all = [
                item.get.as_mut(),
                item.post.as_mut(),
                item.put.as_mut(),
                item.patch.as_mut(),
            ];
            for op in all.into_iter().flatten() {
                if !v1 {
                    continue;
                }
                op.security = Some(vec![SecurityRequirement::new(
                    SECURITY_SCHEME,
                    Vec::<String>::new(),
                )]);
                add_problem(
                    op,
                    "400",
                    "`invalid_input`: malformed JSON, unknown field, bad value",
                );
                add_problem(op, "401", "`unauthorized`: missing or unknown API key");
                add_problem(op, "403", "`forbidden`: the key lacks the permission");
                add_problem(
                    op,
                    "404",
                    "`not_found`: no such object, or not the key's account",
                );
                add_problem(op, "500", "`internal_error`");
                add_problem(op, "503", "`unavailable`: the database is busy; retry");
            }
        }
    }
}

/// The document as JSON text.
pub fn document() -> String {
    ApiDoc::openapi().to_json().unwrap_or_else(|e| {
        tracing::error!(error = %e, "could not serialise the OpenAPI document");
        "{}".to_string()
    })
}
