//! Small additions the HTTP API and `simulate` need on top of the engine's commands.

use crate::engine::{Engine, Idem};
use crate::error::EngineError;
use crate::views::AccountView;
use tenure_core::ids::AccountId;
use tenure_core::{ErrorCode, Refusal};

impl Engine {
    /// PLAN-9: switches repurchase of `product` off. The spec and threshold saved last are kept
    /// for a later switch on (a product never set up saves its first allowed spec and 0), so the
    /// caller need not repeat them to say "off".
    pub fn disable_plan_auto_renew(
        &self,
        account: &AccountId,
        product: &str,
        idem: Option<&Idem>,
    ) -> Result<AccountView, EngineError> {
        let product = self
            .catalog
            .product(product)
            .ok_or_else(|| Refusal::not_found(format!("no product {product:?}")))?;
        let Some(first_allowed) = product
            .plan_auto_renew
            .as_ref()
            .and_then(|auto| auto.specs.first())
        else {
            return Err(Refusal::new(
                ErrorCode::AutoRenewNotAllowed,
                format!("{} does not offer plan auto-renewal", product.id),
            )
            .into());
        };
        let catalog_version = self.catalog_version;
        self.mutate(account, idem, |s, now| {
            let (spec, threshold) = s
                .alerts
                .get(&product.id)
                .and_then(|a| a.repurchase.as_ref())
                .map_or((first_allowed.clone(), 0), |r| {
                    (r.spec.clone(), r.threshold)
                });
            let spec = product
                .plan(&spec)
                .ok_or_else(|| Refusal::not_found(format!("no plan spec {spec:?}")))?;
            let fx =
                s.set_plan_auto_renew(product, spec, threshold, false, catalog_version, now)?;
            Ok((AccountView::of(s, now), fx))
        })
    }
}
