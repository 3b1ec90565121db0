-- USE-1: the first outcome of every usage event, kept forever, so a duplicate (account, event id)
-- is answered with it and changes nothing. Keep in step with ../sqlite/0002_usage_events.sql, whose
-- comment explains the key order (event id first: time-ordered ids append to the index).
CREATE TABLE usage_events (
    account_id TEXT COLLATE "C" NOT NULL,
    event_id   TEXT COLLATE "C" NOT NULL,
    outcome    TEXT   NOT NULL,
    at_us      BIGINT NOT NULL,
    PRIMARY KEY (event_id, account_id)
);
