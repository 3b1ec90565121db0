-- SUB-8: a projection of every subscription instance for renewal management, written with the
-- account's state in one transaction. Keep in step with ../sqlite/0003_subscriptions.sql, whose
-- comment explains the columns (`expires_us` is the largest BIGINT when there is no expiry).
CREATE TABLE subscriptions (
    account_id TEXT COLLATE "C" NOT NULL,
    id         TEXT COLLATE "C" NOT NULL,
    product    TEXT COLLATE "C" NOT NULL,
    edition    TEXT COLLATE "C" NOT NULL,
    status     TEXT COLLATE "C" NOT NULL,
    mode       TEXT COLLATE "C" NOT NULL,
    expires_us BIGINT NOT NULL,
    PRIMARY KEY (account_id, id)
);

CREATE INDEX subscriptions_by_mode ON subscriptions (mode, expires_us, account_id, id);
CREATE INDEX subscriptions_by_expiry ON subscriptions (expires_us, account_id, id);
