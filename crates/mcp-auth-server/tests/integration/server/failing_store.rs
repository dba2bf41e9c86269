//! [`FailingStore`]: a [`MemoryStore`] that can be told to fail, for the server's internal-fault
//! paths (database down, I/O error).
//!
//! Every [`Store`] method is one [`Op`]. A failing op returns [`StoreError::Backend`] *before*
//! reaching the memory store, so it changes nothing: what a test sees afterwards is what the
//! server did with the failure, not a half-applied write. Every call, failing or not, is logged
//! so a test can tell which operations a request reached.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use mcp_auth_core::Scopes;
use mcp_auth_server::store::{
    AuthorizationGrant, ClientRecord, CodeRedemption, FamilyId, MemoryStore, PurgeCounts,
    RefreshEntry, RefreshRecord, Rotation, SigningKeyRecord, Store, StoreError, TokenHash,
};

/// The backend error's text: it must never reach a client.
pub(crate) const BACKEND_DETAIL: &str =
    "connection to db.internal:5432 refused (user=mcp_auth password=hunter2)";

/// One [`Store`] method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Op {
    PutClient,
    GetClient,
    DeleteClient,
    PutCode,
    TakeCode,
    SetCodeFamily,
    PutRefresh,
    RotateRefresh,
    GetRefresh,
    RevokeRefresh,
    RevokeFamily,
    IsFamilyRevoked,
    PutConsent,
    GetConsent,
    PutSigningKey,
    ListSigningKeys,
    RetireSigningKey,
    PurgeExpired,
}

impl Op {
    pub(crate) const ALL: [Self; 18] = [
        Self::PutClient,
        Self::GetClient,
        Self::DeleteClient,
        Self::PutCode,
        Self::TakeCode,
        Self::SetCodeFamily,
        Self::PutRefresh,
        Self::RotateRefresh,
        Self::GetRefresh,
        Self::RevokeRefresh,
        Self::RevokeFamily,
        Self::IsFamilyRevoked,
        Self::PutConsent,
        Self::GetConsent,
        Self::PutSigningKey,
        Self::ListSigningKeys,
        Self::RetireSigningKey,
        Self::PurgeExpired,
    ];
}

/// A [`MemoryStore`] whose operations fail on demand.
#[derive(Debug, Default)]
pub(crate) struct FailingStore {
    inner: MemoryStore,
    failing: Mutex<HashSet<Op>>,
    calls: Mutex<Vec<Op>>,
}

impl FailingStore {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The store underneath: reads and writes through it neither fail nor are logged.
    pub(crate) fn inner(&self) -> &MemoryStore {
        &self.inner
    }

    /// Makes `ops` fail (in addition to those failing already).
    pub(crate) fn fail(&self, ops: &[Op]) {
        let mut failing = self.failing.lock().unwrap_or_else(PoisonError::into_inner);
        failing.extend(ops.iter().copied());
    }

    /// The backend is back: nothing fails.
    pub(crate) fn recover(&self) {
        self.failing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// The operations called since the last call of this method, in order.
    pub(crate) fn take_calls(&self) -> Vec<Op> {
        std::mem::take(&mut *self.calls.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Logs the call of `op`; the backend error if `op` is failing.
    fn enter(&self, op: Op) -> Result<(), StoreError> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(op);
        let failing = self.failing.lock().unwrap_or_else(PoisonError::into_inner);
        if failing.contains(&op) {
            Err(StoreError::backend(BACKEND_DETAIL))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl Store for FailingStore {
    async fn put_client(&self, client: ClientRecord) -> Result<(), StoreError> {
        self.enter(Op::PutClient)?;
        self.inner.put_client(client).await
    }

    async fn get_client(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
        self.enter(Op::GetClient)?;
        self.inner.get_client(client_id).await
    }

    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
        self.enter(Op::DeleteClient)?;
        self.inner.delete_client(client_id).await
    }

    async fn put_code(&self, code: TokenHash, grant: AuthorizationGrant) -> Result<(), StoreError> {
        self.enter(Op::PutCode)?;
        self.inner.put_code(code, grant).await
    }

    async fn take_code(&self, code: TokenHash, now: u64) -> Result<CodeRedemption, StoreError> {
        self.enter(Op::TakeCode)?;
        self.inner.take_code(code, now).await
    }

    async fn set_code_family(
        &self,
        code: TokenHash,
        family: &FamilyId,
    ) -> Result<bool, StoreError> {
        self.enter(Op::SetCodeFamily)?;
        self.inner.set_code_family(code, family).await
    }

    async fn put_refresh(&self, token: TokenHash, record: RefreshRecord) -> Result<(), StoreError> {
        self.enter(Op::PutRefresh)?;
        self.inner.put_refresh(token, record).await
    }

    async fn rotate_refresh(
        &self,
        old: TokenHash,
        new: TokenHash,
        new_record: RefreshRecord,
        now: u64,
    ) -> Result<Rotation, StoreError> {
        self.enter(Op::RotateRefresh)?;
        self.inner.rotate_refresh(old, new, new_record, now).await
    }

    async fn get_refresh(&self, token: TokenHash) -> Result<Option<RefreshEntry>, StoreError> {
        self.enter(Op::GetRefresh)?;
        self.inner.get_refresh(token).await
    }

    async fn revoke_refresh(&self, token: TokenHash) -> Result<Option<FamilyId>, StoreError> {
        self.enter(Op::RevokeRefresh)?;
        self.inner.revoke_refresh(token).await
    }

    async fn revoke_family(&self, family: &FamilyId) -> Result<(), StoreError> {
        self.enter(Op::RevokeFamily)?;
        self.inner.revoke_family(family).await
    }

    async fn is_family_revoked(&self, family: &FamilyId) -> Result<bool, StoreError> {
        self.enter(Op::IsFamilyRevoked)?;
        self.inner.is_family_revoked(family).await
    }

    async fn put_consent(
        &self,
        subject: &str,
        client_id: &str,
        scopes: &Scopes,
    ) -> Result<(), StoreError> {
        self.enter(Op::PutConsent)?;
        self.inner.put_consent(subject, client_id, scopes).await
    }

    async fn get_consent(
        &self,
        subject: &str,
        client_id: &str,
    ) -> Result<Option<Scopes>, StoreError> {
        self.enter(Op::GetConsent)?;
        self.inner.get_consent(subject, client_id).await
    }

    async fn put_signing_key(&self, key: SigningKeyRecord) -> Result<(), StoreError> {
        self.enter(Op::PutSigningKey)?;
        self.inner.put_signing_key(key).await
    }

    async fn list_signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        self.enter(Op::ListSigningKeys)?;
        self.inner.list_signing_keys().await
    }

    async fn retire_signing_key(&self, kid: &str, not_after: u64) -> Result<bool, StoreError> {
        self.enter(Op::RetireSigningKey)?;
        self.inner.retire_signing_key(kid, not_after).await
    }

    async fn purge_expired(&self, now: u64) -> Result<PurgeCounts, StoreError> {
        self.enter(Op::PurgeExpired)?;
        self.inner.purge_expired(now).await
    }
}
