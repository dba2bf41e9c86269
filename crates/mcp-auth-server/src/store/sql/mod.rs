//! What the SQLite and PostgreSQL stores share.
//!
//! The queries are written once, in the SQL both databases understand (`$n` placeholders,
//! `ON CONFLICT ... DO UPDATE`, `RETURNING`), and [`sql_store!`] expands the one
//! [`Store`](super::Store) implementation for each backend. What differs is supplied by the
//! backend: how a writing transaction begins (SQLite takes the write lock up front with
//! `BEGIN IMMEDIATE`; PostgreSQL locks rows as it reads them with `FOR UPDATE`), how migrations
//! are serialized, and the schema's column types.
//!
//! The take-once operations rely on:
//! - [`TAKE_CODE`]: one conditional `UPDATE ... WHERE consumed = FALSE ... RETURNING`. Both
//!   databases run it atomically: concurrent updaters of the row queue on its lock, and
//!   PostgreSQL re-checks the `WHERE` on the row version the winner committed (READ COMMITTED,
//!   section 13.2.1 of its manual), so exactly one sees `consumed = FALSE`.
//! - rotation: a transaction that reads the old token (locking its row in PostgreSQL, holding
//!   the database's write lock in SQLite), then marks it used and inserts its successor.

use mcp_auth_core::Scopes;

use super::{ClientSource, StoreError, TokenHash};

pub(crate) mod queries;

/// One schema migration, applied at most once and in order of `version`.
#[derive(Debug)]
pub(crate) struct Migration {
    /// Position in the sequence; recorded in `mcp_auth_schema_migrations`.
    pub(crate) version: i64,
    /// What it does, recorded alongside.
    pub(crate) description: &'static str,
    /// The statements.
    pub(crate) sql: &'static str,
}

/// The migrations not yet applied, given the versions already recorded.
///
/// # Errors
///
/// [`StoreError::SchemaTooNew`] if the database records a version this build does not know: a
/// newer release migrated it, and this one might misread its tables.
pub(crate) fn pending<'m>(
    applied: &[i64],
    migrations: &'m [Migration],
) -> Result<Vec<&'m Migration>, StoreError> {
    let supported = migrations.last().map_or(0, |m| m.version);
    if let Some(&found) = applied.iter().max()
        && found > supported
    {
        return Err(StoreError::SchemaTooNew { found, supported });
    }
    Ok(migrations
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .collect())
}

/// A backend error, with unique-key violations reported as [`StoreError::Conflict`] on `what`.
pub(crate) fn db_error(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::backend(error),
    }
}

/// A backend error.
pub(crate) fn backend(error: sqlx::Error) -> StoreError {
    StoreError::backend(error)
}

/// A unix time as the database's `BIGINT`.
pub(crate) fn db_time(time: u64, what: &'static str) -> Result<i64, StoreError> {
    i64::try_from(time).map_err(|_| StoreError::OutOfRange(what))
}

/// An optional unix time as the database's `BIGINT`.
pub(crate) fn db_time_opt(
    time: Option<u64>,
    what: &'static str,
) -> Result<Option<i64>, StoreError> {
    time.map(|t| db_time(t, what)).transpose()
}

/// A `BIGINT` column back as a unix time.
pub(crate) fn unix_time(value: i64, column: &'static str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{column} is negative")))
}

/// An optional `BIGINT` column back as a unix time.
pub(crate) fn unix_time_opt(
    value: Option<i64>,
    column: &'static str,
) -> Result<Option<u64>, StoreError> {
    value.map(|v| unix_time(v, column)).transpose()
}

/// A list of strings as a JSON array, in a `TEXT` column.
pub(crate) fn encode_strings(values: &[String]) -> String {
    serde_json::Value::from(values).to_string()
}

/// A `TEXT` column holding a JSON array of strings.
pub(crate) fn decode_strings(json: &str, column: &'static str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(json)
        .map_err(|_| StoreError::Corrupt(format!("{column} is not a JSON array of strings")))
}

/// A `TEXT` column holding space-delimited scopes.
pub(crate) fn decode_scopes(scopes: &str, column: &'static str) -> Result<Scopes, StoreError> {
    scopes
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("{column} holds an invalid scope")))
}

/// A `BLOB`/`BYTEA` column holding a SHA-256 digest.
pub(crate) fn decode_hash(bytes: &[u8], column: &'static str) -> Result<TokenHash, StoreError> {
    TokenHash::from_slice(bytes)
        .ok_or_else(|| StoreError::Corrupt(format!("{column} is not a 32-byte digest")))
}

/// A `TEXT` column holding a JSON value.
pub(crate) fn decode_json(
    json: &str,
    column: &'static str,
) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(json).map_err(|_| StoreError::Corrupt(format!("{column} is not JSON")))
}

/// A client's source as the `source` and `metadata_url` columns.
pub(crate) fn encode_source(source: &ClientSource) -> (&'static str, Option<&str>) {
    match source {
        ClientSource::Dynamic => ("dynamic", None),
        ClientSource::Preconfigured => ("preconfigured", None),
        ClientSource::Metadata(url) => ("metadata", Some(url)),
    }
}

/// The `source` and `metadata_url` columns back as a client's source.
pub(crate) fn decode_source(kind: &str, url: Option<String>) -> Result<ClientSource, StoreError> {
    match (kind, url) {
        ("dynamic", _) => Ok(ClientSource::Dynamic),
        ("preconfigured", _) => Ok(ClientSource::Preconfigured),
        ("metadata", Some(url)) => Ok(ClientSource::Metadata(url)),
        _ => Err(StoreError::Corrupt(
            "mcp_auth_clients.source is unknown or lacks its metadata_url".to_owned(),
        )),
    }
}

/// Implements [`Store`](crate::store::Store) for a SQL backend.
///
/// `$store` must have a `pool: sqlx::Pool<$db>` field and an inherent
/// `async fn begin_write(&self) -> Result<sqlx::Transaction<'static, $db>, sqlx::Error>` that
/// starts a transaction in which reads are not invalidated by concurrent writers before commit.
/// `$select_for_rotation` is [`queries::SELECT_REFRESH`] with whatever locks the row.
macro_rules! sql_store {
    ($store:ty, $db:ty, select_for_rotation = $select_for_rotation:expr) => {
        impl $store {
            /// A client from a row of [`queries::SELECT_CLIENT`].
            fn client_from_row(
                row: &<$db as sqlx::Database>::Row,
            ) -> Result<$crate::store::ClientRecord, $crate::store::StoreError> {
                use sqlx::Row as _;
                use $crate::store::sql::{
                    backend, decode_hash, decode_source, decode_strings, unix_time, unix_time_opt,
                };
                let secret_hash: Option<Vec<u8>> =
                    row.try_get("client_secret_hash").map_err(backend)?;
                let application_type: String = row.try_get("application_type").map_err(backend)?;
                let source: String = row.try_get("source").map_err(backend)?;
                Ok($crate::store::ClientRecord {
                    client_id: row.try_get("client_id").map_err(backend)?,
                    client_secret_hash: secret_hash
                        .map(|bytes| decode_hash(&bytes, "mcp_auth_clients.client_secret_hash"))
                        .transpose()?,
                    redirect_uris: decode_strings(
                        row.try_get("redirect_uris").map_err(backend)?,
                        "mcp_auth_clients.redirect_uris",
                    )?,
                    client_name: row.try_get("client_name").map_err(backend)?,
                    grant_types: decode_strings(
                        row.try_get("grant_types").map_err(backend)?,
                        "mcp_auth_clients.grant_types",
                    )?,
                    response_types: decode_strings(
                        row.try_get("response_types").map_err(backend)?,
                        "mcp_auth_clients.response_types",
                    )?,
                    token_endpoint_auth_method: row
                        .try_get("token_endpoint_auth_method")
                        .map_err(backend)?,
                    scope: row.try_get("scope").map_err(backend)?,
                    application_type: $crate::store::ApplicationType::parse(&application_type)
                        .ok_or_else(|| {
                            $crate::store::StoreError::Corrupt(
                                "mcp_auth_clients.application_type is unknown".to_owned(),
                            )
                        })?,
                    source: decode_source(&source, row.try_get("metadata_url").map_err(backend)?)?,
                    created_at: unix_time(
                        row.try_get("created_at").map_err(backend)?,
                        "mcp_auth_clients.created_at",
                    )?,
                    metadata_expires_at: unix_time_opt(
                        row.try_get("metadata_expires_at").map_err(backend)?,
                        "mcp_auth_clients.metadata_expires_at",
                    )?,
                })
            }

            /// A grant from a row holding the columns of [`queries::TAKE_CODE`]'s `RETURNING`.
            fn grant_from_row(
                row: &<$db as sqlx::Database>::Row,
            ) -> Result<$crate::store::AuthorizationGrant, $crate::store::StoreError> {
                use sqlx::Row as _;
                use $crate::store::sql::{backend, decode_scopes, unix_time};
                let family: Option<String> = row.try_get("issued_family").map_err(backend)?;
                Ok($crate::store::AuthorizationGrant {
                    client_id: row.try_get("client_id").map_err(backend)?,
                    redirect_uri: row.try_get("redirect_uri").map_err(backend)?,
                    code_challenge: row.try_get("code_challenge").map_err(backend)?,
                    resource: row.try_get("resource").map_err(backend)?,
                    scopes: decode_scopes(
                        row.try_get("scopes").map_err(backend)?,
                        "mcp_auth_codes.scopes",
                    )?,
                    subject: row.try_get("subject").map_err(backend)?,
                    expires_at: unix_time(
                        row.try_get("expires_at").map_err(backend)?,
                        "mcp_auth_codes.expires_at",
                    )?,
                    issued_family: family.map($crate::store::FamilyId::new),
                })
            }

            /// A refresh token's state from a row of [`queries::SELECT_REFRESH`].
            fn refresh_from_row(
                row: &<$db as sqlx::Database>::Row,
            ) -> Result<$crate::store::RefreshEntry, $crate::store::StoreError> {
                use sqlx::Row as _;
                use $crate::store::sql::{backend, decode_scopes, unix_time};
                let family: String = row.try_get("family").map_err(backend)?;
                let revoked: Option<bool> = row.try_get("revoked").map_err(backend)?;
                Ok($crate::store::RefreshEntry {
                    record: $crate::store::RefreshRecord {
                        family: $crate::store::FamilyId::new(family),
                        client_id: row.try_get("client_id").map_err(backend)?,
                        subject: row.try_get("subject").map_err(backend)?,
                        scopes: decode_scopes(
                            row.try_get("scopes").map_err(backend)?,
                            "mcp_auth_refresh_tokens.scopes",
                        )?,
                        resource: row.try_get("resource").map_err(backend)?,
                        expires_at: unix_time(
                            row.try_get("expires_at").map_err(backend)?,
                            "mcp_auth_refresh_tokens.expires_at",
                        )?,
                        family_expires_at: unix_time(
                            row.try_get("family_expires_at").map_err(backend)?,
                            "mcp_auth_refresh_tokens.family_expires_at",
                        )?,
                    },
                    used: row.try_get("used").map_err(backend)?,
                    family_revoked: revoked.unwrap_or(false),
                })
            }

            /// A signing key from a row of [`queries::SELECT_SIGNING_KEYS`].
            fn signing_key_from_row(
                row: &<$db as sqlx::Database>::Row,
            ) -> Result<$crate::store::SigningKeyRecord, $crate::store::StoreError> {
                use sqlx::Row as _;
                use $crate::store::sql::{backend, decode_json, unix_time, unix_time_opt};
                let der: Vec<u8> = row.try_get("private_key_der").map_err(backend)?;
                Ok($crate::store::SigningKeyRecord {
                    kid: row.try_get("kid").map_err(backend)?,
                    alg: row.try_get("alg").map_err(backend)?,
                    private_key_der: mcp_auth_core::SecretBytes::new(der),
                    public_jwk: decode_json(
                        row.try_get("public_jwk").map_err(backend)?,
                        "mcp_auth_signing_keys.public_jwk",
                    )?,
                    created_at: unix_time(
                        row.try_get("created_at").map_err(backend)?,
                        "mcp_auth_signing_keys.created_at",
                    )?,
                    not_after: unix_time_opt(
                        row.try_get("not_after").map_err(backend)?,
                        "mcp_auth_signing_keys.not_after",
                    )?,
                })
            }

            /// Inserts a refresh token and records its family, within `tx`.
            async fn insert_refresh(
                tx: &mut sqlx::Transaction<'static, $db>,
                token: $crate::store::TokenHash,
                record: &$crate::store::RefreshRecord,
            ) -> Result<(), $crate::store::StoreError> {
                use $crate::store::sql::{backend, db_error, db_time, queries};
                let family_expires_at =
                    db_time(record.family_expires_at, "refresh token family expiry")?;
                sqlx::query(queries::UPSERT_FAMILY)
                    .bind(record.family.as_str())
                    .bind(family_expires_at)
                    .execute(&mut **tx)
                    .await
                    .map_err(backend)?;
                sqlx::query(queries::INSERT_REFRESH)
                    .bind(token.as_bytes().as_slice())
                    .bind(record.family.as_str())
                    .bind(&record.client_id)
                    .bind(&record.subject)
                    .bind(record.scopes.to_string())
                    .bind(record.resource.as_deref())
                    .bind(db_time(record.expires_at, "refresh token expiry")?)
                    .bind(family_expires_at)
                    .execute(&mut **tx)
                    .await
                    .map_err(db_error("refresh token"))?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            async fn put_client(
                &self,
                client: $crate::store::ClientRecord,
            ) -> Result<(), $crate::store::StoreError> {
                use $crate::store::sql::{
                    backend, db_time, db_time_opt, encode_source, encode_strings, queries,
                };
                let (source, metadata_url) = encode_source(&client.source);
                sqlx::query(queries::UPSERT_CLIENT)
                    .bind(&client.client_id)
                    .bind(
                        client
                            .client_secret_hash
                            .as_ref()
                            .map(|h| h.as_bytes().as_slice()),
                    )
                    .bind(encode_strings(&client.redirect_uris))
                    .bind(client.client_name.as_deref())
                    .bind(encode_strings(&client.grant_types))
                    .bind(encode_strings(&client.response_types))
                    .bind(&client.token_endpoint_auth_method)
                    .bind(client.scope.as_deref())
                    .bind(client.application_type.as_str())
                    .bind(source)
                    .bind(metadata_url)
                    .bind(db_time(client.created_at, "client created_at")?)
                    .bind(db_time_opt(
                        client.metadata_expires_at,
                        "client metadata_expires_at",
                    )?)
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                Ok(())
            }

            async fn get_client(
                &self,
                client_id: &str,
            ) -> Result<Option<$crate::store::ClientRecord>, $crate::store::StoreError> {
                use $crate::store::sql::{backend, queries};
                sqlx::query(queries::SELECT_CLIENT)
                    .bind(client_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?
                    .as_ref()
                    .map(Self::client_from_row)
                    .transpose()
            }

            async fn delete_client(
                &self,
                client_id: &str,
            ) -> Result<bool, $crate::store::StoreError> {
                use $crate::store::sql::{backend, queries};
                let mut tx = self.begin_write().await.map_err(backend)?;
                let deleted = sqlx::query(queries::DELETE_CLIENT)
                    .bind(client_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?
                    .rows_affected();
                for statement in [
                    queries::DELETE_CLIENT_CODES,
                    queries::DELETE_CLIENT_CONSENTS,
                    queries::REVOKE_CLIENT_FAMILIES,
                ] {
                    sqlx::query(statement)
                        .bind(client_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                }
                tx.commit().await.map_err(backend)?;
                Ok(deleted > 0)
            }

            async fn put_code(
                &self,
                code: $crate::store::TokenHash,
                grant: $crate::store::AuthorizationGrant,
            ) -> Result<(), $crate::store::StoreError> {
                use $crate::store::sql::{db_error, db_time, queries};
                sqlx::query(queries::INSERT_CODE)
                    .bind(code.as_bytes().as_slice())
                    .bind(&grant.client_id)
                    .bind(&grant.redirect_uri)
                    .bind(&grant.code_challenge)
                    .bind(grant.resource.as_deref())
                    .bind(grant.scopes.to_string())
                    .bind(&grant.subject)
                    .bind(db_time(grant.expires_at, "authorization code expiry")?)
                    .bind(
                        grant
                            .issued_family
                            .as_ref()
                            .map($crate::store::FamilyId::as_str),
                    )
                    .execute(&self.pool)
                    .await
                    .map_err(db_error("authorization code"))?;
                Ok(())
            }

            async fn take_code(
                &self,
                code: $crate::store::TokenHash,
                now: u64,
            ) -> Result<$crate::store::CodeRedemption, $crate::store::StoreError> {
                use sqlx::Row as _;
                use $crate::store::CodeRedemption;
                use $crate::store::sql::{backend, db_time, queries};
                let now = db_time(now, "now")?;
                // The one statement that decides: see the module docs.
                if let Some(row) = sqlx::query(queries::TAKE_CODE)
                    .bind(code.as_bytes().as_slice())
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?
                {
                    return Self::grant_from_row(&row).map(CodeRedemption::Fresh);
                }
                // Not taken: say why. A consumed code stays consumed, so this cannot race
                // into a wrong answer (a purge in between makes it Unknown, which is true).
                let Some(row) = sqlx::query(queries::SELECT_CODE_STATE)
                    .bind(code.as_bytes().as_slice())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?
                else {
                    return Ok(CodeRedemption::Unknown);
                };
                let consumed: bool = row.try_get("consumed").map_err(backend)?;
                if consumed {
                    let family: Option<String> = row.try_get("issued_family").map_err(backend)?;
                    Ok(CodeRedemption::Replayed {
                        family: family.map($crate::store::FamilyId::new),
                    })
                } else {
                    Ok(CodeRedemption::Expired)
                }
            }

            async fn set_code_family(
                &self,
                code: $crate::store::TokenHash,
                family: &$crate::store::FamilyId,
            ) -> Result<bool, $crate::store::StoreError> {
                use $crate::store::sql::{backend, queries};
                let updated = sqlx::query(queries::SET_CODE_FAMILY)
                    .bind(code.as_bytes().as_slice())
                    .bind(family.as_str())
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?
                    .rows_affected();
                Ok(updated > 0)
            }

            async fn put_refresh(
                &self,
                token: $crate::store::TokenHash,
                record: $crate::store::RefreshRecord,
            ) -> Result<(), $crate::store::StoreError> {
                use $crate::store::sql::backend;
                let mut tx = self.begin_write().await.map_err(backend)?;
                Self::insert_refresh(&mut tx, token, &record).await?;
                tx.commit().await.map_err(backend)
            }

            async fn rotate_refresh(
                &self,
                old: $crate::store::TokenHash,
                new: $crate::store::TokenHash,
                new_record: $crate::store::RefreshRecord,
                now: u64,
            ) -> Result<$crate::store::Rotation, $crate::store::StoreError> {
                use $crate::store::Rotation;
                use $crate::store::sql::{backend, queries};
                let mut tx = self.begin_write().await.map_err(backend)?;
                // Concurrent rotations of `old` queue here (row lock or write lock), and each
                // sees what the one before it committed.
                let Some(row) = sqlx::query($select_for_rotation)
                    .bind(old.as_bytes().as_slice())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(backend)?
                else {
                    tx.rollback().await.map_err(backend)?;
                    return Ok(Rotation::Unknown);
                };
                let entry = Self::refresh_from_row(&row)?;
                if entry.family_revoked {
                    tx.rollback().await.map_err(backend)?;
                    return Ok(Rotation::Revoked);
                }
                if entry.used {
                    // OAuth 2.1 section 4.3.1: reuse of a rotated token revokes the family.
                    sqlx::query(queries::REVOKE_FAMILY)
                        .bind(entry.record.family.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                    tx.commit().await.map_err(backend)?;
                    return Ok(Rotation::Reused {
                        family: entry.record.family,
                    });
                }
                if entry.record.is_expired(now) {
                    tx.rollback().await.map_err(backend)?;
                    return Ok(Rotation::Expired);
                }
                if !entry.record.can_rotate_to(&new_record) {
                    tx.rollback().await.map_err(backend)?;
                    return Err($crate::store::StoreError::InvalidRotation);
                }
                sqlx::query(queries::MARK_REFRESH_USED)
                    .bind(old.as_bytes().as_slice())
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                Self::insert_refresh(&mut tx, new, &new_record).await?;
                tx.commit().await.map_err(backend)?;
                Ok(Rotation::Rotated(entry.record))
            }

            async fn get_refresh(
                &self,
                token: $crate::store::TokenHash,
            ) -> Result<Option<$crate::store::RefreshEntry>, $crate::store::StoreError> {
                use $crate::store::sql::{backend, queries};
                sqlx::query(queries::SELECT_REFRESH)
                    .bind(token.as_bytes().as_slice())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?
                    .as_ref()
                    .map(Self::refresh_from_row)
                    .transpose()
            }

            async fn revoke_refresh(
                &self,
                token: $crate::store::TokenHash,
            ) -> Result<Option<$crate::store::FamilyId>, $crate::store::StoreError> {
                use $crate::store::sql::{backend, queries};
                let family: Option<String> = sqlx::query_scalar(queries::REVOKE_TOKEN_FAMILY)
                    .bind(token.as_bytes().as_slice())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?;
                Ok(family.map($crate::store::FamilyId::new))
            }

            async fn revoke_family(
                &self,
                family: &$crate::store::FamilyId,
            ) -> Result<(), $crate::store::StoreError> {
                use $crate::store::sql::{backend, queries};
                sqlx::query(queries::REVOKE_FAMILY)
                    .bind(family.as_str())
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                Ok(())
            }

            async fn is_family_revoked(
                &self,
                family: &$crate::store::FamilyId,
            ) -> Result<bool, $crate::store::StoreError> {
                use $crate::store::sql::{backend, queries};
                let revoked: Option<bool> = sqlx::query_scalar(queries::SELECT_FAMILY_REVOKED)
                    .bind(family.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?;
                Ok(revoked.unwrap_or(false))
            }

            async fn put_consent(
                &self,
                subject: &str,
                client_id: &str,
                scopes: &mcp_auth_core::Scopes,
            ) -> Result<(), $crate::store::StoreError> {
                use $crate::store::sql::{backend, queries};
                sqlx::query(queries::UPSERT_CONSENT)
                    .bind(subject)
                    .bind(client_id)
                    .bind(scopes.to_string())
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                Ok(())
            }

            async fn get_consent(
                &self,
                subject: &str,
                client_id: &str,
            ) -> Result<Option<mcp_auth_core::Scopes>, $crate::store::StoreError> {
                use $crate::store::sql::{backend, decode_scopes, queries};
                let scopes: Option<String> = sqlx::query_scalar(queries::SELECT_CONSENT)
                    .bind(subject)
                    .bind(client_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?;
                scopes
                    .map(|s| decode_scopes(&s, "mcp_auth_consents.scopes"))
                    .transpose()
            }

            async fn put_signing_key(
                &self,
                key: $crate::store::SigningKeyRecord,
            ) -> Result<(), $crate::store::StoreError> {
                use $crate::store::sql::{db_error, db_time, db_time_opt, queries};
                sqlx::query(queries::INSERT_SIGNING_KEY)
                    .bind(&key.kid)
                    .bind(&key.alg)
                    .bind(key.private_key_der.expose_secret())
                    .bind(key.public_jwk.to_string())
                    .bind(db_time(key.created_at, "signing key created_at")?)
                    .bind(db_time_opt(key.not_after, "signing key not_after")?)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error("signing key"))?;
                Ok(())
            }

            async fn list_signing_keys(
                &self,
            ) -> Result<Vec<$crate::store::SigningKeyRecord>, $crate::store::StoreError> {
                use $crate::store::sql::{backend, queries};
                sqlx::query(queries::SELECT_SIGNING_KEYS)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)?
                    .iter()
                    .map(Self::signing_key_from_row)
                    .collect()
            }

            async fn retire_signing_key(
                &self,
                kid: &str,
                not_after: u64,
            ) -> Result<bool, $crate::store::StoreError> {
                use $crate::store::sql::{backend, db_time, queries};
                let updated = sqlx::query(queries::RETIRE_SIGNING_KEY)
                    .bind(kid)
                    .bind(db_time(not_after, "signing key not_after")?)
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?
                    .rows_affected();
                Ok(updated > 0)
            }

            async fn purge_expired(
                &self,
                now: u64,
            ) -> Result<$crate::store::PurgeCounts, $crate::store::StoreError> {
                use $crate::store::sql::{backend, db_time, queries};
                let now = db_time(now, "now")?;
                let mut tx = self.begin_write().await.map_err(backend)?;
                let mut deleted = [0u64; 5];
                for (count, statement) in deleted.iter_mut().zip([
                    queries::PURGE_CODES,
                    queries::PURGE_REFRESH_TOKENS,
                    queries::PURGE_FAMILIES,
                    queries::PURGE_CLIENTS,
                    queries::PURGE_SIGNING_KEYS,
                ]) {
                    *count = sqlx::query(statement)
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?
                        .rows_affected();
                }
                tx.commit().await.map_err(backend)?;
                let [
                    codes,
                    refresh_tokens,
                    refresh_families,
                    clients,
                    signing_keys,
                ] = deleted;
                Ok($crate::store::PurgeCounts {
                    codes,
                    refresh_tokens,
                    refresh_families,
                    clients,
                    signing_keys,
                })
            }
        }
    };
}

pub(crate) use sql_store;

/// Implements the migration runner for a SQL backend.
///
/// `$store` must have a `pool` field and an inherent
/// `async fn begin_migration(&self) -> Result<sqlx::Transaction<'static, $db>, sqlx::Error>`
/// that starts a transaction no other migration runner can enter concurrently.
macro_rules! migrator {
    ($store:ty, $db:ty, migrations_table = $table:expr, migrations = $migrations:expr) => {
        impl $store {
            /// Brings the schema up to date: creates the tables on first use and applies the
            /// migrations not yet recorded in `mcp_auth_schema_migrations`, in order, in one
            /// transaction. Running it again is a no-op; concurrent runs (several replicas
            /// starting at once) are serialized. The constructors call it.
            ///
            /// # Errors
            ///
            /// [`StoreError::SchemaTooNew`](crate::store::StoreError::SchemaTooNew) if a newer
            /// release migrated the database;
            /// [`StoreError::Backend`](crate::store::StoreError::Backend) if a statement fails
            /// (nothing is then applied).
            pub async fn migrate(&self) -> Result<(), $crate::store::StoreError> {
                use $crate::store::sql::{backend, pending, queries};
                let mut tx = self.begin_migration().await.map_err(backend)?;
                sqlx::raw_sql($table)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                let applied: Vec<i64> = sqlx::query_scalar(queries::SELECT_MIGRATIONS)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(backend)?;
                for migration in pending(&applied, $migrations)? {
                    sqlx::raw_sql(migration.sql)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| {
                            $crate::store::StoreError::backend(format!(
                                "migration {} ({}) failed: {e}",
                                migration.version, migration.description
                            ))
                        })?;
                    sqlx::query(queries::RECORD_MIGRATION)
                        .bind(migration.version)
                        .bind(migration.description)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                }
                tx.commit().await.map_err(backend)
            }
        }
    };
}

pub(crate) use migrator;

#[cfg(test)]
mod tests {
    use super::*;

    const MIGRATIONS: &[Migration] = &[
        Migration {
            version: 1,
            description: "one",
            sql: "",
        },
        Migration {
            version: 2,
            description: "two",
            sql: "",
        },
    ];

    #[test]
    fn pending_skips_applied_and_refuses_newer_schemas() {
        let versions = |applied: &[i64]| -> Vec<i64> {
            pending(applied, MIGRATIONS)
                .unwrap()
                .iter()
                .map(|m| m.version)
                .collect()
        };
        assert_eq!(versions(&[]), [1, 2]);
        assert_eq!(versions(&[1]), [2]);
        assert!(versions(&[1, 2]).is_empty());
        assert!(matches!(
            pending(&[1, 2, 3], MIGRATIONS),
            Err(StoreError::SchemaTooNew {
                found: 3,
                supported: 2
            })
        ));
    }

    #[test]
    fn conversions_refuse_what_they_cannot_hold() {
        assert_eq!(db_time(5, "t").unwrap(), 5);
        assert!(matches!(
            db_time(u64::MAX, "t"),
            Err(StoreError::OutOfRange("t"))
        ));
        assert!(matches!(unix_time(-1, "c"), Err(StoreError::Corrupt(_))));
        assert!(decode_strings("[1]", "c").is_err());
        assert_eq!(
            decode_strings(&encode_strings(&["a b".to_owned()]), "c").unwrap(),
            ["a b"]
        );
        assert!(decode_hash(&[0; 31], "c").is_err());
        assert!(decode_scopes("a\"b", "c").is_err());
        assert!(decode_source("metadata", None).is_err());
        let source = ClientSource::Metadata("https://c.example/m".to_owned());
        let (kind, url) = encode_source(&source);
        assert_eq!(decode_source(kind, url.map(str::to_owned)).unwrap(), source);
    }
}
