//! `catalogs`: every catalog version ever loaded, kept so a purchase keeps its terms (CAT-1).

use crate::sql::args;
use crate::{Backend, StoreError, Tx};

impl Tx<'_> {
    /// The version of the catalog with this digest: the existing one if it was loaded before,
    /// else a new version one above the highest.
    pub fn register_catalog(
        &mut self,
        digest: &str,
        name: &str,
        source: &str,
        loaded_us: i64,
    ) -> Result<i64, StoreError> {
        self.writable()?;
        // *Dialect difference:* computing max + 1 must not race with another process doing the
        // same. SQLite's write lock already excludes it; PostgreSQL needs a table lock (one that
        // conflicts with itself but not with readers). Loading a catalog is rare.
        if self.backend() == Backend::Postgres {
            self.batch("LOCK TABLE catalogs IN SHARE ROW EXCLUSIVE MODE")?;
        }
        if let Some(mut row) = self.row(
            "SELECT version FROM catalogs WHERE digest = ?",
            args![digest],
        )? {
            return row.int();
        }
        let version = self
            .one("SELECT COALESCE(MAX(version), 0) + 1 FROM catalogs", &[])?
            .int()?;
        self.exec(
            "INSERT INTO catalogs (version, digest, name, source, loaded_us) VALUES (?, ?, ?, ?, ?)",
            args![version, digest, name, source, loaded_us],
        )?;
        Ok(version)
    }

    /// The source text of one catalog version.
    pub fn catalog_source(&mut self, version: i64) -> Result<Option<String>, StoreError> {
        self.row(
            "SELECT source FROM catalogs WHERE version = ?",
            args![version],
        )?
        .map(|mut row| row.text())
        .transpose()
    }

    /// The highest catalog version and its source text.
    pub fn latest_catalog(&mut self) -> Result<Option<(i64, String)>, StoreError> {
        self.row(
            "SELECT version, source FROM catalogs ORDER BY version DESC LIMIT 1",
            &[],
        )?
        .map(|mut row| Ok((row.int()?, row.text()?)))
        .transpose()
    }
}
