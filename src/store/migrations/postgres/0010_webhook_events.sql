-- zveno store, PostgreSQL. Append-only: never edit a migration that has shipped; add a new one.

-- Webhook events already received, by the vendor's event id (HubSpot `eventId`, Pipedrive
-- `meta.id`, Jira's `X-Atlassian-Webhook-Identifier`): a retried or replayed delivery
-- claims nothing and is dropped. Rows expire once the vendor has stopped retrying (HubSpot
-- retries for a day) and are deleted by later deliveries.
CREATE TABLE webhook_events (
    connector   TEXT    COLLATE "C" NOT NULL,
    event_id    TEXT    COLLATE "C" NOT NULL CONSTRAINT webhook_event_id_not_empty CHECK (event_id <> ''),
    received_at BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    PRIMARY KEY (connector, event_id)
);

CREATE INDEX webhook_events_expiry ON webhook_events (expires_at);
