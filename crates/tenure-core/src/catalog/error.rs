//! A problem found while loading a catalog file (CAT-1).

use serde::Serialize;

/// One problem in a catalog file. Displays as `FILE:LINE: field: what is wrong`, where `field`
/// is a dotted path that names objects by id (`product.sms.plan.sms-cn-1k.price`). TOML syntax
/// errors have an empty field and display as `FILE:LINE: what is wrong`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct CatalogError {
    pub file: String,
    /// 1-based line of the offending value (of the table header for a missing field).
    pub line: usize,
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for CatalogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        } else {
            write!(
                f,
                "{}:{}: {}: {}",
                self.file, self.line, self.field, self.message
            )
        }
    }
}
