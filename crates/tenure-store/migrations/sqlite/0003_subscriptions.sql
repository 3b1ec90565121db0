-- SUB-8: a projection of every subscription instance, so renewal management can list instances
-- across accounts by tab (renewal mode), product, status and expiry without parsing account
-- states. The account's state stays the truth; these rows are written from it in the same
-- transaction that writes the state (the engine's `persist`), so they never disagree after
-- commit. Keep in step with ../postgres/0003_subscriptions.sql.
--
-- `expires_us` is NOT NULL: an instance without an expiry (a free edition) is stored with the
-- largest 64-bit integer, so it sorts after every dated instance on both backends alike and
-- the expiry-ordered cursor needs no NULL handling.
-- No foreign key to accounts: a row is only written in the transaction holding its account.
CREATE TABLE subscriptions (
    account_id TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    product    TEXT    NOT NULL,
    edition    TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    mode       TEXT    NOT NULL,
    expires_us INTEGER NOT NULL,
    PRIMARY KEY (account_id, id)
) STRICT, WITHOUT ROWID;

-- One tab (renewal mode), sorted by expiry: the usual view of the renewal console.
CREATE INDEX subscriptions_by_mode ON subscriptions (mode, expires_us, account_id, id);
-- Every tab, sorted by expiry ("expires within 7 days").
CREATE INDEX subscriptions_by_expiry ON subscriptions (expires_us, account_id, id);
