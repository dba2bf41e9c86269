//! The SQL both backends run, with `$n` placeholders (SQLite reads `$1` as parameter 1 too).
//!
//! Statements that pass a time compare it with `<=`: a row with `expires_at <= now` is expired.

/// Reads the applied migrations.
pub(crate) const SELECT_MIGRATIONS: &str =
    "SELECT version FROM mcp_auth_schema_migrations ORDER BY version";

/// Records an applied migration: `$1` version, `$2` description.
pub(crate) const RECORD_MIGRATION: &str =
    "INSERT INTO mcp_auth_schema_migrations (version, description) VALUES ($1, $2)";

// --- clients ---

/// Inserts or replaces a client; the columns in order of [`SELECT_CLIENT`].
pub(crate) const UPSERT_CLIENT: &str = "\
INSERT INTO mcp_auth_clients (client_id, client_secret_hash, redirect_uris, client_name, \
    grant_types, response_types, token_endpoint_auth_method, scope, application_type, source, \
    metadata_url, created_at, metadata_expires_at) \
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
ON CONFLICT (client_id) DO UPDATE SET \
    client_secret_hash = excluded.client_secret_hash, \
    redirect_uris = excluded.redirect_uris, \
    client_name = excluded.client_name, \
    grant_types = excluded.grant_types, \
    response_types = excluded.response_types, \
    token_endpoint_auth_method = excluded.token_endpoint_auth_method, \
    scope = excluded.scope, \
    application_type = excluded.application_type, \
    source = excluded.source, \
    metadata_url = excluded.metadata_url, \
    created_at = excluded.created_at, \
    metadata_expires_at = excluded.metadata_expires_at";

/// A client by `$1` client_id.
pub(crate) const SELECT_CLIENT: &str = "\
SELECT client_id, client_secret_hash, redirect_uris, client_name, grant_types, response_types, \
    token_endpoint_auth_method, scope, application_type, source, metadata_url, created_at, \
    metadata_expires_at \
FROM mcp_auth_clients WHERE client_id = $1";

/// Deletes client `$1`.
pub(crate) const DELETE_CLIENT: &str = "DELETE FROM mcp_auth_clients WHERE client_id = $1";

/// Deletes client `$1`'s codes.
pub(crate) const DELETE_CLIENT_CODES: &str = "DELETE FROM mcp_auth_codes WHERE client_id = $1";

/// Deletes consents given to client `$1`.
pub(crate) const DELETE_CLIENT_CONSENTS: &str =
    "DELETE FROM mcp_auth_consents WHERE client_id = $1";

/// Revokes every refresh token family of client `$1` (each token's family row exists: it is
/// written with the token).
pub(crate) const REVOKE_CLIENT_FAMILIES: &str = "\
UPDATE mcp_auth_refresh_families SET revoked = TRUE \
WHERE family IN (SELECT family FROM mcp_auth_refresh_tokens WHERE client_id = $1)";

// --- authorization codes ---

/// Stores a code: `$1` hash, then the grant's fields; not consumed.
pub(crate) const INSERT_CODE: &str = "\
INSERT INTO mcp_auth_codes (code_hash, client_id, redirect_uri, code_challenge, resource, \
    scopes, subject, expires_at, issued_family) \
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// Consumes code `$1` if it is unconsumed and unexpired at `$2`, returning its grant: the
/// take-once step, one atomic statement.
pub(crate) const TAKE_CODE: &str = "\
UPDATE mcp_auth_codes SET consumed = TRUE \
WHERE code_hash = $1 AND consumed = FALSE AND expires_at > $2 \
RETURNING client_id, redirect_uri, code_challenge, resource, scopes, subject, expires_at, \
    issued_family";

/// Why code `$1` was not taken.
pub(crate) const SELECT_CODE_STATE: &str =
    "SELECT consumed, issued_family FROM mcp_auth_codes WHERE code_hash = $1";

/// Sets code `$1`'s family to `$2`.
pub(crate) const SET_CODE_FAMILY: &str =
    "UPDATE mcp_auth_codes SET issued_family = $2 WHERE code_hash = $1";

// --- refresh tokens ---

/// Records family `$1`, extending its expiry to `$2` if later; keeps its revocation flag.
pub(crate) const UPSERT_FAMILY: &str = "\
INSERT INTO mcp_auth_refresh_families (family, revoked, expires_at) VALUES ($1, FALSE, $2) \
ON CONFLICT (family) DO UPDATE SET expires_at = CASE \
    WHEN mcp_auth_refresh_families.expires_at IS NULL \
        OR mcp_auth_refresh_families.expires_at < excluded.expires_at \
    THEN excluded.expires_at ELSE mcp_auth_refresh_families.expires_at END";

/// Stores a refresh token: `$1` hash, then the record's fields; unused.
pub(crate) const INSERT_REFRESH: &str = "\
INSERT INTO mcp_auth_refresh_tokens (token_hash, family, client_id, subject, scopes, resource, \
    expires_at, family_expires_at) \
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// Refresh token `$1` with its family's revocation flag.
pub(crate) const SELECT_REFRESH: &str = "\
SELECT t.family, t.client_id, t.subject, t.scopes, t.resource, t.expires_at, \
    t.family_expires_at, t.used, f.revoked \
FROM mcp_auth_refresh_tokens t LEFT JOIN mcp_auth_refresh_families f ON f.family = t.family \
WHERE t.token_hash = $1";

/// Marks refresh token `$1` used.
pub(crate) const MARK_REFRESH_USED: &str =
    "UPDATE mcp_auth_refresh_tokens SET used = TRUE WHERE token_hash = $1";

/// Revokes family `$1`, creating its row if need be (a revocation that precedes the family's
/// first token, as when a replayed code races its first redemption).
pub(crate) const REVOKE_FAMILY: &str = "\
INSERT INTO mcp_auth_refresh_families (family, revoked, expires_at) VALUES ($1, TRUE, NULL) \
ON CONFLICT (family) DO UPDATE SET revoked = TRUE";

/// Revokes the family of refresh token `$1`, returning it; no row if the token is unknown.
pub(crate) const REVOKE_TOKEN_FAMILY: &str = "\
UPDATE mcp_auth_refresh_families SET revoked = TRUE \
WHERE family = (SELECT family FROM mcp_auth_refresh_tokens WHERE token_hash = $1) \
RETURNING family";

/// Whether family `$1` is revoked; no row if unknown.
pub(crate) const SELECT_FAMILY_REVOKED: &str =
    "SELECT revoked FROM mcp_auth_refresh_families WHERE family = $1";

// --- consents ---

/// Records that `$1` subject granted `$2` client the `$3` scopes.
pub(crate) const UPSERT_CONSENT: &str = "\
INSERT INTO mcp_auth_consents (subject, client_id, scopes) VALUES ($1, $2, $3) \
ON CONFLICT (subject, client_id) DO UPDATE SET scopes = excluded.scopes";

/// The scopes `$1` subject granted `$2` client.
pub(crate) const SELECT_CONSENT: &str =
    "SELECT scopes FROM mcp_auth_consents WHERE subject = $1 AND client_id = $2";

// --- signing keys ---

/// Stores a signing key.
pub(crate) const INSERT_SIGNING_KEY: &str = "\
INSERT INTO mcp_auth_signing_keys (kid, alg, private_key_der, public_jwk, created_at, not_after) \
VALUES ($1, $2, $3, $4, $5, $6)";

/// Every signing key, oldest first.
pub(crate) const SELECT_SIGNING_KEYS: &str = "\
SELECT kid, alg, private_key_der, public_jwk, created_at, not_after \
FROM mcp_auth_signing_keys ORDER BY created_at, kid";

/// Sets key `$1`'s `not_after` to `$2`.
pub(crate) const RETIRE_SIGNING_KEY: &str =
    "UPDATE mcp_auth_signing_keys SET not_after = $2 WHERE kid = $1";

// --- housekeeping: `$1` is now ---

/// Codes past expiry, consumed or not (a consumed one is kept until then to detect replays).
pub(crate) const PURGE_CODES: &str = "DELETE FROM mcp_auth_codes WHERE expires_at <= $1";

/// Refresh tokens that can neither be redeemed nor reveal a reuse: those of expired families,
/// and unused ones past their own expiry. Used tokens stay until the family expires, so
/// presenting one still revokes the family (RFC 9700 section 4.14.2).
pub(crate) const PURGE_REFRESH_TOKENS: &str = "\
DELETE FROM mcp_auth_refresh_tokens \
WHERE family_expires_at <= $1 OR (used = FALSE AND expires_at <= $1)";

/// Families past expiry (their tokens are gone by the rule above).
pub(crate) const PURGE_FAMILIES: &str =
    "DELETE FROM mcp_auth_refresh_families WHERE expires_at <= $1";

/// Client records past `metadata_expires_at`.
pub(crate) const PURGE_CLIENTS: &str =
    "DELETE FROM mcp_auth_clients WHERE metadata_expires_at <= $1";

/// Signing keys past `not_after`.
pub(crate) const PURGE_SIGNING_KEYS: &str =
    "DELETE FROM mcp_auth_signing_keys WHERE not_after <= $1";
