-- Webhooks: an administrator subscribes a URL to an entity's events; each event is a delivery
-- waiting here until the receiver answers 2xx, tried again with backoff for a day. A webhook
-- that fails again and again is switched off (and the administrators told). The signing
-- secret is sealed like the SMTP password (`org::secrets`).
CREATE TABLE webhooks (
    id                   INTEGER PRIMARY KEY,
    name                 TEXT NOT NULL,
    url                  TEXT NOT NULL,
    sealed_secret        TEXT NOT NULL,
    entity               TEXT NOT NULL,
    events               TEXT NOT NULL,
    active               INTEGER NOT NULL DEFAULT 1,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    created_by           INTEGER REFERENCES users(id) ON DELETE SET NULL,
    version              INTEGER NOT NULL DEFAULT 1,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
) STRICT;
CREATE INDEX webhooks_entity ON webhooks(entity) WHERE active = 1;

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event           TEXT NOT NULL,
    record_id       INTEGER,
    payload         TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    status_code     INTEGER,
    response_ms     INTEGER,
    last_error      TEXT,
    delivered_at    INTEGER,
    failed_at       INTEGER,
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id, id);
