//! `meta`: small named settings, such as the sandbox clock.

use crate::sql::args;
use crate::{StoreError, Tx};

impl Tx<'_> {
    /// The value stored under `key`.
    pub fn meta_get(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        self.row("SELECT value FROM meta WHERE key = ?", args![key])?
            .map(|mut row| row.text())
            .transpose()
    }

    /// Stores `value` under `key`, replacing any previous value.
    pub fn meta_set(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.writable()?;
        self.exec(
            "INSERT INTO meta (key, value) VALUES (?, ?) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            args![key, value],
        )?;
        Ok(())
    }
}
