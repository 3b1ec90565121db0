-- Tenure store schema, PostgreSQL dialect.
-- Keep in step with ../sqlite/0001_init.sql: the same tables, columns, keys and indexes. Only the
-- dialect differs: every integer is BIGINT (the store binds every integer as i64), every text key is
-- COLLATE "C" so ORDER BY and cursor comparisons follow byte order exactly as SQLite's BINARY
-- collation does, and the autoincrement column is an identity column.
-- Instants are microseconds since the Unix epoch (*_us); money and JSON are TEXT.

CREATE TABLE accounts (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    created_us BIGINT NOT NULL,
    state      TEXT   NOT NULL,
    version    BIGINT NOT NULL
);

CREATE TABLE journal_tx (
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
    seq        BIGINT NOT NULL,
    at_us      BIGINT NOT NULL,
    kind       TEXT   NOT NULL,
    data       TEXT   NOT NULL,
    PRIMARY KEY (account_id, seq)
);

CREATE TABLE journal_entries (
    account_id TEXT COLLATE "C" NOT NULL,
    seq        BIGINT NOT NULL,
    line       BIGINT NOT NULL,
    book       TEXT   NOT NULL,
    unit       TEXT   NOT NULL,
    amount     TEXT   NOT NULL,
    PRIMARY KEY (account_id, seq, line),
    FOREIGN KEY (account_id, seq) REFERENCES journal_tx (account_id, seq)
);

CREATE TABLE messages (
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
    audience   TEXT COLLATE "C" NOT NULL CHECK (audience IN ('notice', 'event')),
    seq        BIGINT NOT NULL,
    kind       TEXT COLLATE "C" NOT NULL,
    subject    TEXT COLLATE "C" NOT NULL,
    at_us      BIGINT NOT NULL,
    dedup_key  TEXT COLLATE "C" NOT NULL,
    data       TEXT   NOT NULL,
    PRIMARY KEY (account_id, audience, seq),
    UNIQUE (account_id, audience, dedup_key)
);

CREATE INDEX messages_by_kind ON messages (account_id, audience, kind, subject, seq);

-- No foreign key to accounts: the queue may also carry operator-level actions.
CREATE TABLE due_actions (
    key            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    account_id     TEXT COLLATE "C" NOT NULL,
    due_us         BIGINT NOT NULL,
    kind           TEXT   NOT NULL,
    payload        TEXT   NOT NULL,
    lease_owner    TEXT,
    lease_until_us BIGINT,
    done_us        BIGINT,
    attempts       BIGINT NOT NULL
);

CREATE INDEX due_actions_pending ON due_actions (due_us, key) WHERE done_us IS NULL;

CREATE TABLE due_runs (
    id    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key   TEXT COLLATE "C" NOT NULL,
    owner TEXT   NOT NULL,
    at_us BIGINT NOT NULL
);

CREATE INDEX due_runs_by_key ON due_runs (key);

CREATE TABLE idempotency (
    scope        TEXT COLLATE "C" NOT NULL,
    key          TEXT COLLATE "C" NOT NULL,
    request_hash TEXT   NOT NULL,
    status       BIGINT NOT NULL,
    body         TEXT   NOT NULL,
    created_us   BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE TABLE api_keys (
    id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    hash        TEXT COLLATE "C" NOT NULL UNIQUE,
    account_id  TEXT COLLATE "C",
    permissions TEXT   NOT NULL,
    created_us  BIGINT NOT NULL,
    revoked_us  BIGINT
);

CREATE TABLE meta (
    key   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE catalogs (
    version   BIGINT NOT NULL PRIMARY KEY,
    digest    TEXT COLLATE "C" NOT NULL UNIQUE,
    name      TEXT   NOT NULL,
    source    TEXT   NOT NULL,
    loaded_us BIGINT NOT NULL
);
