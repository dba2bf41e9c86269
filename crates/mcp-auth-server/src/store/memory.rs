//! [`MemoryStore`]: the whole state in a mutex-guarded map, for tests and ephemeral servers.
//!
//! Every operation holds the one lock for its whole duration, which makes each of them atomic,
//! take-once included. State is lost when the process ends, so a restart logs every user out
//! and forgets dynamically registered clients; pick [`SqliteStore`](super::SqliteStore) to keep
//! them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use mcp_auth_core::Scopes;

use super::{
    AuthorizationGrant, ClientRecord, CodeRedemption, FamilyId, PurgeCounts, RefreshEntry,
    RefreshRecord, Rotation, SigningKeyRecord, Store, StoreError, TokenHash,
};

/// An in-process [`Store`]. Clones share the same state.
///
/// Its `Debug` output shows the whole state: hashes, identifiers and metadata, with signing
/// keys redacted.
#[derive(Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

/// Everything stored.
#[derive(Debug, Default)]
struct State {
    clients: HashMap<String, ClientRecord>,
    codes: HashMap<TokenHash, CodeEntry>,
    refresh_tokens: HashMap<TokenHash, TokenEntry>,
    families: HashMap<FamilyId, Family>,
    consents: HashMap<(String, String), Scopes>,
    signing_keys: BTreeMap<String, SigningKeyRecord>,
}

/// A stored code.
#[derive(Debug)]
struct CodeEntry {
    grant: AuthorizationGrant,
    consumed: bool,
}

/// A stored refresh token.
#[derive(Debug)]
struct TokenEntry {
    record: RefreshRecord,
    used: bool,
}

/// A refresh token family's shared state.
#[derive(Debug, Default)]
struct Family {
    revoked: bool,
    /// The latest `family_expires_at` of its tokens; `None` if revoked before any was stored.
    expires_at: Option<u64>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The state, locked. A panic while the lock was held cannot have left a half-made change
    /// (every operation checks before it writes), so a poisoned lock is taken over.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("state", &*self.lock())
            .finish()
    }
}

impl State {
    /// Records a token's family, extending its expiry; keeps a revocation.
    fn touch_family(&mut self, record: &RefreshRecord) {
        let family = self.families.entry(record.family.clone()).or_default();
        family.expires_at = Some(family.expires_at.map_or(record.family_expires_at, |at| {
            at.max(record.family_expires_at)
        }));
    }

    fn is_revoked(&self, family: &FamilyId) -> bool {
        self.families.get(family).is_some_and(|f| f.revoked)
    }

    fn revoke(&mut self, family: &FamilyId) {
        self.families.entry(family.clone()).or_default().revoked = true;
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn put_client(&self, client: ClientRecord) -> Result<(), StoreError> {
        self.lock().clients.insert(client.client_id.clone(), client);
        Ok(())
    }

    async fn get_client(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
        Ok(self.lock().clients.get(client_id).cloned())
    }

    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let known = state.clients.remove(client_id).is_some();
        state
            .codes
            .retain(|_, code| code.grant.client_id != client_id);
        state.consents.retain(|(_, client), _| client != client_id);
        let families: HashSet<FamilyId> = state
            .refresh_tokens
            .values()
            .filter(|token| token.record.client_id == client_id)
            .map(|token| token.record.family.clone())
            .collect();
        for family in &families {
            state.revoke(family);
        }
        Ok(known)
    }

    async fn put_code(&self, code: TokenHash, grant: AuthorizationGrant) -> Result<(), StoreError> {
        let mut state = self.lock();
        if state.codes.contains_key(&code) {
            return Err(StoreError::Conflict("authorization code"));
        }
        state.codes.insert(
            code,
            CodeEntry {
                grant,
                consumed: false,
            },
        );
        Ok(())
    }

    async fn take_code(&self, code: TokenHash, now: u64) -> Result<CodeRedemption, StoreError> {
        let mut state = self.lock();
        let Some(entry) = state.codes.get_mut(&code) else {
            return Ok(CodeRedemption::Unknown);
        };
        if entry.consumed {
            return Ok(CodeRedemption::Replayed {
                family: entry.grant.issued_family.clone(),
            });
        }
        if entry.grant.expires_at <= now {
            return Ok(CodeRedemption::Expired);
        }
        entry.consumed = true;
        Ok(CodeRedemption::Fresh(entry.grant.clone()))
    }

    async fn set_code_family(
        &self,
        code: TokenHash,
        family: &FamilyId,
    ) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let Some(entry) = state.codes.get_mut(&code) else {
            return Ok(false);
        };
        entry.grant.issued_family = Some(family.clone());
        Ok(true)
    }

    async fn put_refresh(&self, token: TokenHash, record: RefreshRecord) -> Result<(), StoreError> {
        let mut state = self.lock();
        if state.refresh_tokens.contains_key(&token) {
            return Err(StoreError::Conflict("refresh token"));
        }
        state.touch_family(&record);
        state.refresh_tokens.insert(
            token,
            TokenEntry {
                record,
                used: false,
            },
        );
        Ok(())
    }

    async fn rotate_refresh(
        &self,
        old: TokenHash,
        new: TokenHash,
        new_record: RefreshRecord,
        now: u64,
    ) -> Result<Rotation, StoreError> {
        let mut state = self.lock();
        let Some(entry) = state.refresh_tokens.get(&old) else {
            return Ok(Rotation::Unknown);
        };
        let family = entry.record.family.clone();
        if state.is_revoked(&family) {
            return Ok(Rotation::Revoked);
        }
        if entry.used {
            state.revoke(&family);
            return Ok(Rotation::Reused { family });
        }
        if entry.record.is_expired(now) {
            return Ok(Rotation::Expired);
        }
        if !entry.record.can_rotate_to(&new_record) {
            return Err(StoreError::InvalidRotation);
        }
        if state.refresh_tokens.contains_key(&new) {
            return Err(StoreError::Conflict("refresh token"));
        }
        let old_record = entry.record.clone();
        if let Some(entry) = state.refresh_tokens.get_mut(&old) {
            entry.used = true;
        }
        state.touch_family(&new_record);
        state.refresh_tokens.insert(
            new,
            TokenEntry {
                record: new_record,
                used: false,
            },
        );
        Ok(Rotation::Rotated(old_record))
    }

    async fn get_refresh(&self, token: TokenHash) -> Result<Option<RefreshEntry>, StoreError> {
        let state = self.lock();
        Ok(state.refresh_tokens.get(&token).map(|entry| RefreshEntry {
            record: entry.record.clone(),
            used: entry.used,
            family_revoked: state.is_revoked(&entry.record.family),
        }))
    }

    async fn revoke_refresh(&self, token: TokenHash) -> Result<Option<FamilyId>, StoreError> {
        let mut state = self.lock();
        let Some(family) = state
            .refresh_tokens
            .get(&token)
            .map(|entry| entry.record.family.clone())
        else {
            return Ok(None);
        };
        state.revoke(&family);
        Ok(Some(family))
    }

    async fn revoke_family(&self, family: &FamilyId) -> Result<(), StoreError> {
        self.lock().revoke(family);
        Ok(())
    }

    async fn is_family_revoked(&self, family: &FamilyId) -> Result<bool, StoreError> {
        Ok(self.lock().is_revoked(family))
    }

    async fn put_consent(
        &self,
        subject: &str,
        client_id: &str,
        scopes: &Scopes,
    ) -> Result<(), StoreError> {
        self.lock()
            .consents
            .insert((subject.to_owned(), client_id.to_owned()), scopes.clone());
        Ok(())
    }

    async fn get_consent(
        &self,
        subject: &str,
        client_id: &str,
    ) -> Result<Option<Scopes>, StoreError> {
        Ok(self
            .lock()
            .consents
            .get(&(subject.to_owned(), client_id.to_owned()))
            .cloned())
    }

    async fn put_signing_key(&self, key: SigningKeyRecord) -> Result<(), StoreError> {
        let mut state = self.lock();
        if state.signing_keys.contains_key(&key.kid) {
            return Err(StoreError::Conflict("signing key"));
        }
        state.signing_keys.insert(key.kid.clone(), key);
        Ok(())
    }

    async fn list_signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        // The map is ordered by kid; a stable sort by creation keeps kid as the tie-break.
        let mut keys: Vec<SigningKeyRecord> = self.lock().signing_keys.values().cloned().collect();
        keys.sort_by_key(|key| key.created_at);
        Ok(keys)
    }

    async fn retire_signing_key(&self, kid: &str, not_after: u64) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let Some(key) = state.signing_keys.get_mut(kid) else {
            return Ok(false);
        };
        key.not_after = Some(not_after);
        Ok(true)
    }

    async fn purge_expired(&self, now: u64) -> Result<PurgeCounts, StoreError> {
        let mut state = self.lock();
        let before = state.signing_keys.len();
        state
            .signing_keys
            .retain(|_, key| key.not_after.is_none_or(|at| at > now));
        let signing_keys = (before - state.signing_keys.len()) as u64;
        let counts = PurgeCounts {
            codes: retain_counting(&mut state.codes, |code| code.grant.expires_at > now),
            refresh_tokens: retain_counting(&mut state.refresh_tokens, |token| {
                token.record.family_expires_at > now
                    && (token.used || token.record.expires_at > now)
            }),
            refresh_families: retain_counting(&mut state.families, |family| {
                family.expires_at.is_none_or(|at| at > now)
            }),
            clients: retain_counting(&mut state.clients, |client| {
                client.metadata_expires_at.is_none_or(|at| at > now)
            }),
            signing_keys,
        };
        Ok(counts)
    }
}

/// `map.retain(keep)`, returning how many entries were removed.
fn retain_counting<K, V>(map: &mut HashMap<K, V>, mut keep: impl FnMut(&V) -> bool) -> u64 {
    let before = map.len();
    map.retain(|_, value| keep(value));
    (before - map.len()) as u64
}
