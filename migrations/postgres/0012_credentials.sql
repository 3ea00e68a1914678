-- Stored credentials (issue 14), referred to from the configuration as `cred:NAME`. The
-- secret parts (a PAT, a client secret) are only ever stored sealed: AES-256-GCM under
-- ADO_INGEST_MASTER_KEY, as `v1:<key id>:<base64>`; `credentials_hash` is a short SHA-256
-- fingerprint shown instead of the secret. Nothing here is a secret once sealed.
CREATE TABLE credentials (
    id               BIGSERIAL PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    description      TEXT,
    -- The connectors it serves, comma-separated (repos,boards).
    connectors       TEXT NOT NULL,
    -- pat | service_principal | managed_identity
    method           TEXT NOT NULL,
    tenant_id        TEXT,
    client_id        TEXT,
    authority        TEXT,
    endpoint         TEXT,
    secret_sealed    TEXT,
    credentials_hash TEXT,
    -- YYYY-MM-DD
    expires_on       TEXT,
    -- active | invalid | expired
    status           TEXT NOT NULL,
    status_detail    TEXT,
    version          BIGINT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    last_used_at     TIMESTAMPTZ,
    validated_at     TIMESTAMPTZ
);
