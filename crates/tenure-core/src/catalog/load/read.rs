//! A thin reader over toml's spanned document tree. Every value keeps its byte range, so each
//! problem is reported with its line; a bad value is reported and read as absent, so reading
//! goes on and one load reports every problem of the file.

use crate::catalog::CatalogError;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

pub(super) type Value<'a> = Spanned<DeValue<'a>>;

/// Collects problems, turning byte offsets into line numbers.
pub(super) struct Sink {
    file: String,
    line_starts: Vec<usize>,
    errors: Vec<CatalogError>,
}

impl Sink {
    pub(super) fn new(file: &str, text: &str) -> Sink {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Sink {
            file: file.to_owned(),
            line_starts,
            errors: Vec::new(),
        }
    }

    /// The 1-based line holding byte `offset`.
    pub(super) fn line(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset)
    }

    pub(super) fn report(
        &mut self,
        span: &Range<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.errors.push(CatalogError {
            file: self.file.clone(),
            line: self.line(span.start),
            field: field.into(),
            message: message.into(),
        });
    }

    pub(super) fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }

    /// The problems in file order (a stable sort keeps the reading order within a line).
    pub(super) fn into_errors(mut self) -> Vec<CatalogError> {
        self.errors.sort_by_key(|e| e.line);
        self.errors
    }
}

/// One TOML table, with the dotted path that names it in errors.
pub(super) struct Table<'a> {
    pub(super) path: String,
    pub(super) span: Range<usize>,
    map: &'a DeTable<'a>,
}

impl<'a> Table<'a> {
    /// The document itself; reports every top-level key not in `keys`.
    pub(super) fn root(sink: &mut Sink, doc: &'a Spanned<DeTable<'a>>, keys: &[&str]) -> Self {
        let table = Table {
            path: String::new(),
            span: doc.span(),
            map: doc.get_ref(),
        };
        table.check_keys(sink, keys);
        table
    }

    /// Opens `value` as a table named `path`; reports it if it is not a table, and reports
    /// every key in it that is not in `keys` (so typos never pass silently).
    pub(super) fn open(
        sink: &mut Sink,
        path: String,
        value: &'a Value<'a>,
        keys: &[&str],
    ) -> Option<Self> {
        let table = Table::open_data(sink, path, value)?;
        table.check_keys(sink, keys);
        Some(table)
    }

    /// Opens `value` as a table keyed by data (meter ids) rather than by field names: its keys
    /// are not checked; read them with [`Table::entries`].
    fn open_data(sink: &mut Sink, path: String, value: &'a Value<'a>) -> Option<Self> {
        let DeValue::Table(map) = value.get_ref() else {
            let found = value.get_ref().type_str();
            sink.report(
                &value.span(),
                path,
                format!("expected a table, found {found}"),
            );
            return None;
        };
        Some(Table {
            path,
            span: value.span(),
            map,
        })
    }

    fn check_keys(&self, sink: &mut Sink, keys: &[&str]) {
        for key in self.map.keys() {
            let name: &str = key.get_ref();
            if !keys.contains(&name) {
                sink.report(&key.span(), self.field(name), unknown_key(name, keys));
            }
        }
    }

    /// The dotted path of `key` in this table.
    pub(super) fn field(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub(super) fn get(&self, key: &str) -> Option<&'a Value<'a>> {
        self.map.get(key)
    }

    pub(super) fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// The range of `key`'s value, or of the table when the key is absent.
    pub(super) fn span_of(&self, key: &str) -> Range<usize> {
        self.get(key)
            .map_or_else(|| self.span.clone(), |v| v.span())
    }

    /// Reports a problem with `key`'s value (or with the table when the key is absent).
    pub(super) fn report(&self, sink: &mut Sink, key: &str, message: impl Into<String>) {
        sink.report(&self.span_of(key), self.field(key), message);
    }

    /// An optional value: `None` when absent, or when it does not parse (then reported).
    pub(super) fn opt<T>(
        &self,
        sink: &mut Sink,
        key: &str,
        parse: impl FnOnce(&'a DeValue<'a>) -> Result<T, String>,
    ) -> Option<T> {
        let value = self.get(key)?;
        parse(value.get_ref())
            .map_err(|message| sink.report(&value.span(), self.field(key), message))
            .ok()
    }

    /// A required value: a missing one is reported on the table's line.
    pub(super) fn req<T>(
        &self,
        sink: &mut Sink,
        key: &str,
        parse: impl FnOnce(&'a DeValue<'a>) -> Result<T, String>,
    ) -> Option<T> {
        if !self.has(key) {
            sink.report(&self.span, self.field(key), "missing (required)");
            return None;
        }
        self.opt(sink, key, parse)
    }

    /// An optional array whose items are parsed, and reported, one by one. Bad items are left
    /// out; `None` when the key is absent or is not an array.
    pub(super) fn list<T>(
        &self,
        sink: &mut Sink,
        key: &str,
        parse: impl Fn(&'a DeValue<'a>) -> Result<T, String>,
    ) -> Option<Vec<Spanned<T>>> {
        let value = self.get(key)?;
        let DeValue::Array(items) = value.get_ref() else {
            let found = value.get_ref().type_str();
            sink.report(
                &value.span(),
                self.field(key),
                format!("expected an array, found {found}"),
            );
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items.iter() {
            match parse(item.get_ref()) {
                Ok(parsed) => out.push(Spanned::new(item.span(), parsed)),
                Err(message) => sink.report(&item.span(), self.field(key), message),
            }
        }
        Some(out)
    }

    /// An optional sub-table (`[a.b]` or `b = { … }`) whose keys must be among `keys`.
    pub(super) fn table(&self, sink: &mut Sink, key: &str, keys: &[&str]) -> Option<Table<'a>> {
        let value = self.get(key)?;
        Table::open(sink, self.field(key), value, keys)
    }

    /// An optional sub-table keyed by data, see [`Table::open_data`].
    pub(super) fn data_table(&self, sink: &mut Sink, key: &str) -> Option<Table<'a>> {
        let value = self.get(key)?;
        Table::open_data(sink, self.field(key), value)
    }

    /// An array of tables (`[[a.b]]`). Each element is named by its `id` when it has a string
    /// one (`product.sms`), else by its index (`product[0]`).
    pub(super) fn tables(&self, sink: &mut Sink, key: &str, keys: &[&str]) -> Vec<Table<'a>> {
        let Some(value) = self.get(key) else {
            return Vec::new();
        };
        let DeValue::Array(items) = value.get_ref() else {
            let found = value.get_ref().type_str();
            let message = format!("expected an array of tables ([[{key}]]), found {found}");
            sink.report(&value.span(), self.field(key), message);
            return Vec::new();
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let id = match item.get_ref() {
                DeValue::Table(map) => map.get("id").and_then(|id| id.get_ref().as_str()),
                _ => None,
            };
            let path = match id {
                Some(id) => format!("{}.{id}", self.field(key)),
                None => format!("{}[{i}]", self.field(key)),
            };
            out.extend(Table::open(sink, path, item, keys));
        }
        out
    }

    /// Every entry, for tables keyed by data (meter ids) rather than by field names.
    pub(super) fn entries(&self) -> impl Iterator<Item = (&'a str, Range<usize>, &'a Value<'a>)> {
        self.map
            .iter()
            .map(|(k, v)| (k.get_ref().as_ref(), k.span(), v))
    }
}

/// "unknown field", with the nearest known key when one is a likely typo, else the list.
fn unknown_key(name: &str, keys: &[&str]) -> String {
    let nearest = keys
        .iter()
        .map(|k| (strsim::levenshtein(name, k), *k))
        .min()
        .filter(|(d, k)| *d <= 2.max(k.len() / 4));
    match nearest {
        Some((_, k)) => format!("unknown field `{name}` (did you mean `{k}`?)"),
        None => format!(
            "unknown field `{name}`; expected one of: {}",
            keys.join(", ")
        ),
    }
}
