-- mcp-auth-server schema, version 1 (PostgreSQL).
-- Every table is prefixed mcp_auth_ so the store can share a database with the application.
-- Times are unix seconds. Codes, refresh tokens and client secrets are stored as their SHA-256.

CREATE TABLE mcp_auth_clients (
    client_id                  TEXT    PRIMARY KEY NOT NULL,
    client_secret_hash         BYTEA,
    redirect_uris              TEXT    NOT NULL, -- JSON array of strings
    client_name                TEXT,
    grant_types                TEXT    NOT NULL, -- JSON array of strings
    response_types             TEXT    NOT NULL, -- JSON array of strings
    token_endpoint_auth_method TEXT    NOT NULL,
    scope                      TEXT,
    application_type           TEXT    NOT NULL,
    source                     TEXT    NOT NULL, -- dynamic | preconfigured | metadata
    metadata_url               TEXT,             -- set when source = metadata
    created_at                 BIGINT  NOT NULL,
    metadata_expires_at        BIGINT
);
CREATE INDEX mcp_auth_clients_metadata_expires_at ON mcp_auth_clients (metadata_expires_at);

CREATE TABLE mcp_auth_codes (
    code_hash      BYTEA   PRIMARY KEY NOT NULL,
    client_id      TEXT    NOT NULL,
    redirect_uri   TEXT    NOT NULL,
    code_challenge TEXT    NOT NULL,
    resource       TEXT,
    scopes         TEXT    NOT NULL, -- space-delimited
    subject        TEXT    NOT NULL,
    expires_at     BIGINT  NOT NULL,
    issued_family  TEXT,
    consumed       BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX mcp_auth_codes_expires_at ON mcp_auth_codes (expires_at);
CREATE INDEX mcp_auth_codes_client_id ON mcp_auth_codes (client_id);

CREATE TABLE mcp_auth_refresh_families (
    family     TEXT    PRIMARY KEY NOT NULL,
    revoked    BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at BIGINT  -- NULL when revoked before any of its tokens was stored
);
CREATE INDEX mcp_auth_refresh_families_expires_at ON mcp_auth_refresh_families (expires_at);

CREATE TABLE mcp_auth_refresh_tokens (
    token_hash        BYTEA   PRIMARY KEY NOT NULL,
    family            TEXT    NOT NULL,
    client_id         TEXT    NOT NULL,
    subject           TEXT    NOT NULL,
    scopes            TEXT    NOT NULL, -- space-delimited
    resource          TEXT,
    expires_at        BIGINT  NOT NULL,
    family_expires_at BIGINT  NOT NULL,
    used              BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX mcp_auth_refresh_tokens_family ON mcp_auth_refresh_tokens (family);
CREATE INDEX mcp_auth_refresh_tokens_client_id ON mcp_auth_refresh_tokens (client_id);
CREATE INDEX mcp_auth_refresh_tokens_family_expires_at ON mcp_auth_refresh_tokens (family_expires_at);

CREATE TABLE mcp_auth_consents (
    subject   TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scopes    TEXT NOT NULL, -- space-delimited
    PRIMARY KEY (subject, client_id)
);
CREATE INDEX mcp_auth_consents_client_id ON mcp_auth_consents (client_id);

CREATE TABLE mcp_auth_signing_keys (
    kid             TEXT    PRIMARY KEY NOT NULL,
    alg             TEXT    NOT NULL,
    private_key_der BYTEA   NOT NULL, -- PKCS#8; the one secret that cannot be hashed
    public_jwk      TEXT    NOT NULL, -- JSON object
    created_at      BIGINT  NOT NULL,
    not_after       BIGINT
);
