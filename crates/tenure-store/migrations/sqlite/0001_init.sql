-- Tenure store schema, SQLite dialect.
-- Keep in step with ../postgres/0001_init.sql: the same tables, columns, keys and indexes. Only the
-- dialect differs: INTEGER (64-bit in SQLite) for BIGINT, STRICT tables so a wrongly typed value is an
-- error as it is on PostgreSQL, and `INTEGER PRIMARY KEY` (the rowid) as the autoincrement column.
-- Instants are microseconds since the Unix epoch (*_us); money and JSON are TEXT.

CREATE TABLE accounts (
    id         TEXT    NOT NULL PRIMARY KEY,
    created_us INTEGER NOT NULL,
    state      TEXT    NOT NULL,
    version    INTEGER NOT NULL
) STRICT;

CREATE TABLE journal_tx (
    account_id TEXT    NOT NULL REFERENCES accounts (id),
    seq        INTEGER NOT NULL,
    at_us      INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    data       TEXT    NOT NULL,
    PRIMARY KEY (account_id, seq)
) STRICT;

CREATE TABLE journal_entries (
    account_id TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    line       INTEGER NOT NULL,
    book       TEXT    NOT NULL,
    unit       TEXT    NOT NULL,
    amount     TEXT    NOT NULL,
    PRIMARY KEY (account_id, seq, line),
    FOREIGN KEY (account_id, seq) REFERENCES journal_tx (account_id, seq)
) STRICT;

CREATE TABLE messages (
    account_id TEXT    NOT NULL REFERENCES accounts (id),
    audience   TEXT    NOT NULL CHECK (audience IN ('notice', 'event')),
    seq        INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    at_us      INTEGER NOT NULL,
    dedup_key  TEXT    NOT NULL,
    data       TEXT    NOT NULL,
    PRIMARY KEY (account_id, audience, seq),
    UNIQUE (account_id, audience, dedup_key)
) STRICT;

CREATE INDEX messages_by_kind ON messages (account_id, audience, kind, subject, seq);

-- No foreign key to accounts: the queue may also carry operator-level actions.
CREATE TABLE due_actions (
    key            TEXT    NOT NULL PRIMARY KEY,
    account_id     TEXT    NOT NULL,
    due_us         INTEGER NOT NULL,
    kind           TEXT    NOT NULL,
    payload        TEXT    NOT NULL,
    lease_owner    TEXT,
    lease_until_us INTEGER,
    done_us        INTEGER,
    attempts       INTEGER NOT NULL
) STRICT;

CREATE INDEX due_actions_pending ON due_actions (due_us, key) WHERE done_us IS NULL;

CREATE TABLE due_runs (
    id    INTEGER PRIMARY KEY,
    key   TEXT    NOT NULL,
    owner TEXT    NOT NULL,
    at_us INTEGER NOT NULL
) STRICT;

CREATE INDEX due_runs_by_key ON due_runs (key);

CREATE TABLE idempotency (
    scope        TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    status       INTEGER NOT NULL,
    body         TEXT    NOT NULL,
    created_us   INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) STRICT;

CREATE TABLE api_keys (
    id          TEXT    NOT NULL PRIMARY KEY,
    hash        TEXT    NOT NULL UNIQUE,
    account_id  TEXT,
    permissions TEXT    NOT NULL,
    created_us  INTEGER NOT NULL,
    revoked_us  INTEGER
) STRICT;

CREATE TABLE meta (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE catalogs (
    version   INTEGER NOT NULL PRIMARY KEY,
    digest    TEXT    NOT NULL UNIQUE,
    name      TEXT    NOT NULL,
    source    TEXT    NOT NULL,
    loaded_us INTEGER NOT NULL
) STRICT;
