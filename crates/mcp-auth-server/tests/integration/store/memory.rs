//! The conformance suite against [`MemoryStore`].

use std::sync::Arc;

use mcp_auth_server::store::{MemoryStore, Store};

use crate::store::harness::{Backend, conformance_tests};

/// A fresh [`MemoryStore`]; its replica is a clone, sharing the state.
pub(crate) struct Memory(MemoryStore);

impl Backend for Memory {
    async fn open() -> Self {
        Self(MemoryStore::new())
    }

    fn store(&self) -> Arc<dyn Store> {
        Arc::new(self.0.clone())
    }

    async fn replica(&self) -> Arc<dyn Store> {
        Arc::new(self.0.clone())
    }

    async fn raw_contents(&self) -> Vec<u8> {
        // `Debug` shows the whole state.
        format!("{:?}", self.0).into_bytes()
    }

    async fn close(self) {}
}

conformance_tests!(Memory);
