//! The cases every [`Store`] must pass, whatever the backend.

use std::collections::HashSet;
use std::sync::Arc;

use mcp_auth_core::{Scopes, SecretBytes};
use mcp_auth_server::store::{
    ApplicationType, AuthorizationGrant, ClientRecord, ClientSource, CodeRedemption, FamilyId,
    RefreshEntry, RefreshRecord, Rotation, SigningKeyRecord, Store, StoreError, TokenHash,
};
use tokio::sync::Barrier;

use crate::store::harness::{Backend, contains, hex, random_hex};

/// The tests' "now" (unix seconds).
const NOW: u64 = 1_700_000_000;

/// How many callers race in the concurrency cases.
const RACERS: usize = 50;

fn scopes(s: &str) -> Scopes {
    s.parse().unwrap()
}

fn client(client_id: &str, source: ClientSource) -> ClientRecord {
    ClientRecord {
        client_id: client_id.to_owned(),
        client_secret_hash: None,
        redirect_uris: vec!["https://app.example.com/callback".to_owned()],
        client_name: None,
        grant_types: vec!["authorization_code".to_owned(), "refresh_token".to_owned()],
        response_types: vec!["code".to_owned()],
        token_endpoint_auth_method: "none".to_owned(),
        scope: None,
        application_type: ApplicationType::Web,
        source,
        created_at: NOW,
        metadata_expires_at: None,
    }
}

fn grant(client_id: &str, expires_at: u64) -> AuthorizationGrant {
    AuthorizationGrant {
        client_id: client_id.to_owned(),
        redirect_uri: "https://app.example.com/callback".to_owned(),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned(),
        resource: Some("https://mcp.example.com/mcp".to_owned()),
        scopes: scopes("mcp:tools mcp:resources"),
        subject: "alice".to_owned(),
        expires_at,
        issued_family: None,
    }
}

fn refresh(family: &str, client_id: &str, expires_at: u64) -> RefreshRecord {
    RefreshRecord {
        family: FamilyId::new(family),
        client_id: client_id.to_owned(),
        subject: "alice".to_owned(),
        scopes: scopes("mcp:tools offline_access"),
        resource: Some("https://mcp.example.com/mcp".to_owned()),
        expires_at,
        family_expires_at: NOW + 30 * 86_400,
    }
}

fn signing_key(kid: &str, created_at: u64) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: kid.to_owned(),
        alg: "ES256".to_owned(),
        private_key_der: SecretBytes::new(format!("pkcs8-der-of-{kid}").into_bytes()),
        public_jwk: serde_json::json!({"kty": "EC", "crv": "P-256", "kid": kid, "x": "x", "y": "y"}),
        created_at,
        not_after: None,
    }
}

/// A stored key, compared field by field (`SecretBytes` has no `PartialEq`).
fn assert_same_key(actual: &SigningKeyRecord, expected: &SigningKeyRecord) {
    assert_eq!(actual.kid, expected.kid);
    assert_eq!(actual.alg, expected.alg);
    assert!(actual.private_key_der.ct_eq(&expected.private_key_der));
    assert_eq!(actual.public_jwk, expected.public_jwk);
    assert_eq!(actual.created_at, expected.created_at);
    assert_eq!(actual.not_after, expected.not_after);
}

fn h(secret: &str) -> TokenHash {
    TokenHash::of(secret)
}

pub(crate) async fn clients_round_trip<B: Backend>(b: &B) {
    let store = b.store();
    assert_eq!(store.get_client("nobody").await.unwrap(), None);

    let full = ClientRecord {
        client_secret_hash: Some(h("client-secret")),
        client_name: Some("Example App".to_owned()),
        redirect_uris: vec![
            "https://app.example.com/callback".to_owned(),
            "http://127.0.0.1/callback".to_owned(),
        ],
        token_endpoint_auth_method: "client_secret_basic".to_owned(),
        scope: Some("mcp:tools mcp:resources".to_owned()),
        application_type: ApplicationType::Native,
        metadata_expires_at: Some(NOW + 3600),
        ..client("dyn-1", ClientSource::Dynamic)
    };
    let records = [
        full,
        client("pre-1", ClientSource::Preconfigured),
        client(
            "https://app.example.com/client.json",
            ClientSource::Metadata("https://app.example.com/client.json".to_owned()),
        ),
    ];
    for record in &records {
        store.put_client(record.clone()).await.unwrap();
    }
    for record in &records {
        assert_eq!(
            store.get_client(&record.client_id).await.unwrap().as_ref(),
            Some(record)
        );
    }

    // put_client replaces.
    let replaced = ClientRecord {
        client_name: Some("Renamed".to_owned()),
        client_secret_hash: None,
        redirect_uris: vec![],
        scope: None,
        metadata_expires_at: None,
        ..records[0].clone()
    };
    store.put_client(replaced.clone()).await.unwrap();
    assert_eq!(store.get_client("dyn-1").await.unwrap(), Some(replaced));

    assert!(store.delete_client("dyn-1").await.unwrap());
    assert_eq!(store.get_client("dyn-1").await.unwrap(), None);
    assert!(!store.delete_client("dyn-1").await.unwrap());
    assert_eq!(
        store.get_client("pre-1").await.unwrap().as_ref(),
        Some(&records[1])
    );
}

pub(crate) async fn delete_client_revokes_what_it_was_granted<B: Backend>(b: &B) {
    let store = b.store();
    for id in ["gone", "kept"] {
        store
            .put_client(client(id, ClientSource::Dynamic))
            .await
            .unwrap();
        store
            .put_code(h(&format!("code-{id}")), grant(id, NOW + 60))
            .await
            .unwrap();
        store
            .put_refresh(
                h(&format!("rt-{id}")),
                refresh(&format!("family-{id}"), id, NOW + 3600),
            )
            .await
            .unwrap();
        store
            .put_consent("alice", id, &scopes("mcp:tools"))
            .await
            .unwrap();
    }

    assert!(store.delete_client("gone").await.unwrap());

    assert_eq!(
        store.take_code(h("code-gone"), NOW).await.unwrap(),
        CodeRedemption::Unknown
    );
    assert!(
        store
            .is_family_revoked(&FamilyId::new("family-gone"))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .rotate_refresh(
                h("rt-gone"),
                h("rt-gone-2"),
                refresh("family-gone", "gone", NOW + 3600),
                NOW
            )
            .await
            .unwrap(),
        Rotation::Revoked
    );
    assert_eq!(store.get_consent("alice", "gone").await.unwrap(), None);

    // The other client keeps everything.
    assert!(matches!(
        store.take_code(h("code-kept"), NOW).await.unwrap(),
        CodeRedemption::Fresh(_)
    ));
    assert!(
        !store
            .is_family_revoked(&FamilyId::new("family-kept"))
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_consent("alice", "kept").await.unwrap(),
        Some(scopes("mcp:tools"))
    );
}

pub(crate) async fn code_is_single_use<B: Backend>(b: &B) {
    let store = b.store();
    let code = h("code-1");
    let issued = grant("client-1", NOW + 60);
    store.put_code(code, issued.clone()).await.unwrap();

    assert_eq!(
        store.take_code(code, NOW).await.unwrap(),
        CodeRedemption::Fresh(issued)
    );
    assert_eq!(
        store.take_code(code, NOW + 1).await.unwrap(),
        CodeRedemption::Replayed { family: None }
    );

    // The first redemption records what it issued; later replays name it.
    let family = FamilyId::new("family-1");
    assert!(store.set_code_family(code, &family).await.unwrap());
    assert_eq!(
        store.take_code(code, NOW + 2).await.unwrap(),
        CodeRedemption::Replayed {
            family: Some(family)
        }
    );
}

pub(crate) async fn code_replay_names_the_family_chosen_at_issue<B: Backend>(b: &B) {
    let store = b.store();
    let family = FamilyId::new("family-at-issue");
    let issued = AuthorizationGrant {
        issued_family: Some(family.clone()),
        resource: None,
        scopes: Scopes::new(),
        ..grant("client-1", NOW + 60)
    };
    store.put_code(h("code-2"), issued.clone()).await.unwrap();
    assert_eq!(
        store.take_code(h("code-2"), NOW).await.unwrap(),
        CodeRedemption::Fresh(issued)
    );
    assert_eq!(
        store.take_code(h("code-2"), NOW).await.unwrap(),
        CodeRedemption::Replayed {
            family: Some(family)
        }
    );
}

pub(crate) async fn expired_code_is_refused<B: Backend>(b: &B) {
    let store = b.store();
    store
        .put_code(h("late"), grant("client-1", NOW + 60))
        .await
        .unwrap();
    // `expires_at` is the first instant the code is no longer valid.
    assert_eq!(
        store.take_code(h("late"), NOW + 60).await.unwrap(),
        CodeRedemption::Expired
    );
    assert_eq!(
        store.take_code(h("late"), NOW + 61).await.unwrap(),
        CodeRedemption::Expired
    );

    // A code redeemed in time and replayed after its expiry is still a replay.
    store
        .put_code(h("on-time"), grant("client-1", NOW + 60))
        .await
        .unwrap();
    assert!(matches!(
        store.take_code(h("on-time"), NOW + 59).await.unwrap(),
        CodeRedemption::Fresh(_)
    ));
    assert_eq!(
        store.take_code(h("on-time"), NOW + 120).await.unwrap(),
        CodeRedemption::Replayed { family: None }
    );
}

pub(crate) async fn unknown_code<B: Backend>(b: &B) {
    let store = b.store();
    assert_eq!(
        store.take_code(h("never-issued"), NOW).await.unwrap(),
        CodeRedemption::Unknown
    );
    assert!(
        !store
            .set_code_family(h("never-issued"), &FamilyId::new("f"))
            .await
            .unwrap()
    );
}

pub(crate) async fn duplicate_code_conflicts<B: Backend>(b: &B) {
    let store = b.store();
    let first = grant("client-1", NOW + 60);
    store.put_code(h("dup"), first.clone()).await.unwrap();
    let err = store
        .put_code(h("dup"), grant("client-2", NOW + 60))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        store.take_code(h("dup"), NOW).await.unwrap(),
        CodeRedemption::Fresh(first)
    );
}

pub(crate) async fn refresh_round_trip<B: Backend>(b: &B) {
    let store = b.store();
    assert_eq!(store.get_refresh(h("rt-0")).await.unwrap(), None);
    let record = RefreshRecord {
        resource: None,
        scopes: Scopes::new(),
        ..refresh("family-1", "client-1", NOW + 3600)
    };
    store.put_refresh(h("rt-0"), record.clone()).await.unwrap();
    let entry = store.get_refresh(h("rt-0")).await.unwrap().unwrap();
    assert_eq!(
        entry,
        RefreshEntry {
            record: record.clone(),
            used: false,
            family_revoked: false,
        }
    );
    assert!(entry.is_active(NOW));
    assert!(!entry.is_active(NOW + 3600));
    assert!(
        !store
            .is_family_revoked(&FamilyId::new("family-1"))
            .await
            .unwrap()
    );

    let err = store.put_refresh(h("rt-0"), record).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
}

pub(crate) async fn rotation_chain<B: Backend>(b: &B) {
    let store = b.store();
    let r0 = refresh("family-1", "client-1", NOW + 3600);
    store.put_refresh(h("rt-0"), r0.clone()).await.unwrap();

    let r1 = refresh("family-1", "client-1", NOW + 7200);
    assert_eq!(
        store
            .rotate_refresh(h("rt-0"), h("rt-1"), r1.clone(), NOW)
            .await
            .unwrap(),
        Rotation::Rotated(r0)
    );
    // A refresh may narrow the scopes (RFC 6749 section 6).
    let r2 = RefreshRecord {
        scopes: scopes("mcp:tools"),
        ..refresh("family-1", "client-1", NOW + 9000)
    };
    assert_eq!(
        store
            .rotate_refresh(h("rt-1"), h("rt-2"), r2.clone(), NOW + 10)
            .await
            .unwrap(),
        Rotation::Rotated(r1)
    );

    let old = store.get_refresh(h("rt-0")).await.unwrap().unwrap();
    assert!(old.used && !old.family_revoked && !old.is_active(NOW));
    let current = store.get_refresh(h("rt-2")).await.unwrap().unwrap();
    assert_eq!(current.record, r2);
    assert!(current.is_active(NOW + 10));
}

pub(crate) async fn reused_refresh_token_revokes_the_family<B: Backend>(b: &B) {
    let store = b.store();
    let family = FamilyId::new("family-1");
    let record = refresh("family-1", "client-1", NOW + 3600);
    store.put_refresh(h("rt-0"), record.clone()).await.unwrap();

    assert_eq!(
        store
            .rotate_refresh(h("rt-0"), h("rt-1"), record.clone(), NOW)
            .await
            .unwrap(),
        Rotation::Rotated(record.clone())
    );
    // rt-0 again: reuse. The family is revoked and the second successor not stored.
    assert_eq!(
        store
            .rotate_refresh(h("rt-0"), h("rt-2"), record.clone(), NOW + 1)
            .await
            .unwrap(),
        Rotation::Reused {
            family: family.clone()
        }
    );
    assert!(store.is_family_revoked(&family).await.unwrap());
    assert_eq!(store.get_refresh(h("rt-2")).await.unwrap(), None);

    // The successor the first rotation issued is refused too.
    assert_eq!(
        store
            .rotate_refresh(h("rt-1"), h("rt-3"), record.clone(), NOW + 2)
            .await
            .unwrap(),
        Rotation::Revoked
    );
    let successor = store.get_refresh(h("rt-1")).await.unwrap().unwrap();
    assert!(successor.family_revoked && !successor.used && !successor.is_active(NOW + 2));
    assert_eq!(
        store
            .rotate_refresh(h("rt-0"), h("rt-4"), record, NOW + 3)
            .await
            .unwrap(),
        Rotation::Revoked
    );
}

pub(crate) async fn expired_refresh_token_is_refused<B: Backend>(b: &B) {
    let store = b.store();
    let short = refresh("family-1", "client-1", NOW + 10);
    store
        .put_refresh(h("rt-short"), short.clone())
        .await
        .unwrap();
    assert_eq!(
        store
            .rotate_refresh(h("rt-short"), h("rt-x"), short.clone(), NOW + 10)
            .await
            .unwrap(),
        Rotation::Expired
    );

    // The family's absolute lifetime caps every token in it.
    let capped = RefreshRecord {
        family_expires_at: NOW + 100,
        ..refresh("family-2", "client-1", NOW + 3600)
    };
    store
        .put_refresh(h("rt-capped"), capped.clone())
        .await
        .unwrap();
    assert_eq!(
        store
            .rotate_refresh(h("rt-capped"), h("rt-y"), capped, NOW + 100)
            .await
            .unwrap(),
        Rotation::Expired
    );

    assert_eq!(
        store
            .rotate_refresh(h("rt-unknown"), h("rt-z"), short.clone(), NOW)
            .await
            .unwrap(),
        Rotation::Unknown
    );

    // Reuse is reuse even once the used token has expired.
    let record = refresh("family-3", "client-1", NOW + 10);
    store.put_refresh(h("rt-a"), record.clone()).await.unwrap();
    assert!(matches!(
        store
            .rotate_refresh(h("rt-a"), h("rt-b"), record.clone(), NOW)
            .await
            .unwrap(),
        Rotation::Rotated(_)
    ));
    assert_eq!(
        store
            .rotate_refresh(h("rt-a"), h("rt-c"), record, NOW + 500)
            .await
            .unwrap(),
        Rotation::Reused {
            family: FamilyId::new("family-3")
        }
    );
}

pub(crate) async fn rotation_must_continue_the_family<B: Backend>(b: &B) {
    let store = b.store();
    let record = refresh("family-1", "client-1", NOW + 3600);
    store.put_refresh(h("rt-0"), record.clone()).await.unwrap();
    store
        .put_refresh(h("rt-other"), refresh("family-2", "client-1", NOW + 3600))
        .await
        .unwrap();

    let strays = [
        refresh("family-2", "client-1", NOW + 3600),
        refresh("family-1", "client-2", NOW + 3600),
        RefreshRecord {
            subject: "mallory".to_owned(),
            ..record.clone()
        },
    ];
    for stray in strays {
        let err = store
            .rotate_refresh(h("rt-0"), h("rt-1"), stray, NOW)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::InvalidRotation), "{err:?}");
    }
    // A successor hash already stored is a conflict.
    let err = store
        .rotate_refresh(h("rt-0"), h("rt-other"), record.clone(), NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");

    // None of that changed anything.
    let entry = store.get_refresh(h("rt-0")).await.unwrap().unwrap();
    assert!(entry.is_active(NOW));
    assert_eq!(store.get_refresh(h("rt-1")).await.unwrap(), None);
    assert_eq!(
        store
            .rotate_refresh(h("rt-0"), h("rt-1"), record.clone(), NOW)
            .await
            .unwrap(),
        Rotation::Rotated(record)
    );
}

pub(crate) async fn revoke_family_refuses_every_token<B: Backend>(b: &B) {
    let store = b.store();
    let family = FamilyId::new("family-1");
    let record = refresh("family-1", "client-1", NOW + 3600);
    store.put_refresh(h("rt-0"), record.clone()).await.unwrap();
    store
        .rotate_refresh(h("rt-0"), h("rt-1"), record.clone(), NOW)
        .await
        .unwrap();

    store.revoke_family(&family).await.unwrap();
    assert!(store.is_family_revoked(&family).await.unwrap());
    assert!(
        !store
            .is_family_revoked(&FamilyId::new("family-other"))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .rotate_refresh(h("rt-1"), h("rt-2"), record.clone(), NOW)
            .await
            .unwrap(),
        Rotation::Revoked
    );
    assert!(
        store
            .get_refresh(h("rt-1"))
            .await
            .unwrap()
            .unwrap()
            .family_revoked
    );
    // Idempotent.
    store.revoke_family(&family).await.unwrap();
    assert!(store.is_family_revoked(&family).await.unwrap());

    // Revoked before its first token is stored (a replayed code racing the first
    // redemption): the token is refused.
    let early = FamilyId::new("family-early");
    store.revoke_family(&early).await.unwrap();
    let record = refresh("family-early", "client-1", NOW + 3600);
    store
        .put_refresh(h("rt-early"), record.clone())
        .await
        .unwrap();
    assert!(store.is_family_revoked(&early).await.unwrap());
    assert_eq!(
        store
            .rotate_refresh(h("rt-early"), h("rt-early-2"), record, NOW)
            .await
            .unwrap(),
        Rotation::Revoked
    );
}

pub(crate) async fn revoke_refresh_revokes_its_family<B: Backend>(b: &B) {
    let store = b.store();
    let record = refresh("family-1", "client-1", NOW + 3600);
    store.put_refresh(h("rt-0"), record.clone()).await.unwrap();
    store
        .put_refresh(
            h("rt-unrelated"),
            refresh("family-2", "client-1", NOW + 3600),
        )
        .await
        .unwrap();

    assert_eq!(
        store.revoke_refresh(h("rt-0")).await.unwrap(),
        Some(FamilyId::new("family-1"))
    );
    assert!(
        store
            .is_family_revoked(&FamilyId::new("family-1"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .get_refresh(h("rt-0"))
            .await
            .unwrap()
            .unwrap()
            .is_active(NOW)
    );
    assert_eq!(
        store
            .rotate_refresh(h("rt-0"), h("rt-1"), record, NOW)
            .await
            .unwrap(),
        Rotation::Revoked
    );
    assert_eq!(store.revoke_refresh(h("rt-unknown")).await.unwrap(), None);
    assert!(
        store
            .get_refresh(h("rt-unrelated"))
            .await
            .unwrap()
            .unwrap()
            .is_active(NOW)
    );
}

pub(crate) async fn consents_round_trip<B: Backend>(b: &B) {
    let store = b.store();
    assert_eq!(store.get_consent("alice", "client-1").await.unwrap(), None);
    store
        .put_consent("alice", "client-1", &scopes("mcp:tools"))
        .await
        .unwrap();
    store
        .put_consent("alice", "client-1", &scopes("mcp:tools mcp:resources"))
        .await
        .unwrap();
    store
        .put_consent("bob", "client-1", &Scopes::new())
        .await
        .unwrap();
    assert_eq!(
        store.get_consent("alice", "client-1").await.unwrap(),
        Some(scopes("mcp:tools mcp:resources"))
    );
    assert_eq!(
        store.get_consent("bob", "client-1").await.unwrap(),
        Some(Scopes::new())
    );
    assert_eq!(store.get_consent("alice", "client-2").await.unwrap(), None);
    assert_eq!(store.get_consent("carol", "client-1").await.unwrap(), None);
}

pub(crate) async fn signing_keys_round_trip<B: Backend>(b: &B) {
    let store = b.store();
    assert!(store.list_signing_keys().await.unwrap().is_empty());
    let newest = signing_key("key-c", NOW + 10);
    let tie_b = signing_key("key-b", NOW);
    let tie_a = SigningKeyRecord {
        not_after: Some(NOW + 500),
        ..signing_key("key-a", NOW)
    };
    for key in [&newest, &tie_b, &tie_a] {
        store.put_signing_key(key.clone()).await.unwrap();
    }
    let err = store
        .put_signing_key(signing_key("key-b", NOW + 99))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");

    let listed = store.list_signing_keys().await.unwrap();
    assert_eq!(listed.len(), 3);
    for (actual, expected) in listed.iter().zip([&tie_a, &tie_b, &newest]) {
        assert_same_key(actual, expected);
    }

    assert!(store.retire_signing_key("key-b", NOW + 900).await.unwrap());
    assert!(!store.retire_signing_key("key-z", NOW + 900).await.unwrap());
    let listed = store.list_signing_keys().await.unwrap();
    assert_eq!(listed[1].not_after, Some(NOW + 900));
    assert!(listed[1].is_published(NOW + 899) && !listed[1].is_published(NOW + 900));
    assert_eq!(listed[2].not_after, None);
}

pub(crate) async fn purge_removes_only_what_expired<B: Backend>(b: &B) {
    let store = b.store();
    let cutoff = NOW + 100;

    // Codes: two past the cutoff (one consumed), one alive.
    store
        .put_code(h("code-expired"), grant("client-1", NOW + 50))
        .await
        .unwrap();
    store
        .put_code(h("code-consumed"), grant("client-1", cutoff))
        .await
        .unwrap();
    store.take_code(h("code-consumed"), NOW).await.unwrap();
    store
        .put_code(h("code-alive"), grant("client-1", cutoff + 1))
        .await
        .unwrap();

    // Refresh tokens. Family A lives on: rt-a0 was rotated (used, expired: kept, to detect its
    // reuse), rt-a1 is its live successor, rt-a-stale is unused and expired (purged).
    let a = |expires_at| RefreshRecord {
        family_expires_at: NOW + 10_000,
        ..refresh("family-a", "client-1", expires_at)
    };
    store.put_refresh(h("rt-a0"), a(NOW + 50)).await.unwrap();
    store
        .rotate_refresh(h("rt-a0"), h("rt-a1"), a(NOW + 500), NOW)
        .await
        .unwrap();
    store
        .put_refresh(h("rt-a-stale"), a(NOW + 50))
        .await
        .unwrap();
    // Family B is past its absolute lifetime: its token and the family go.
    let b_record = RefreshRecord {
        family_expires_at: NOW + 80,
        ..refresh("family-b", "client-1", NOW + 80)
    };
    store.put_refresh(h("rt-b0"), b_record).await.unwrap();
    // Family C was revoked before any token: no expiry, kept.
    store
        .revoke_family(&FamilyId::new("family-c"))
        .await
        .unwrap();

    // Clients: a lapsed metadata document, a fresh one, a dynamic client.
    let metadata = |id: &str, expires_at| ClientRecord {
        metadata_expires_at: Some(expires_at),
        ..client(id, ClientSource::Metadata(id.to_owned()))
    };
    store
        .put_client(metadata("https://lapsed.example/c.json", NOW + 50))
        .await
        .unwrap();
    store
        .put_client(metadata("https://fresh.example/c.json", NOW + 500))
        .await
        .unwrap();
    store
        .put_client(client("dyn-1", ClientSource::Dynamic))
        .await
        .unwrap();

    // Signing keys: retired past the cutoff, retiring later, current.
    for (kid, not_after) in [
        ("key-retired", Some(NOW + 50)),
        ("key-retiring", Some(NOW + 500)),
        ("key-current", None),
    ] {
        store
            .put_signing_key(SigningKeyRecord {
                not_after,
                ..signing_key(kid, NOW)
            })
            .await
            .unwrap();
    }

    let counts = store.purge_expired(cutoff).await.unwrap();
    assert_eq!(counts.codes, 2, "{counts:?}");
    assert_eq!(counts.refresh_tokens, 2, "{counts:?}");
    assert_eq!(counts.refresh_families, 1, "{counts:?}");
    assert_eq!(counts.clients, 1, "{counts:?}");
    assert_eq!(counts.signing_keys, 1, "{counts:?}");

    for code in ["code-expired", "code-consumed"] {
        assert_eq!(
            store.take_code(h(code), cutoff).await.unwrap(),
            CodeRedemption::Unknown
        );
    }
    assert!(matches!(
        store.take_code(h("code-alive"), cutoff).await.unwrap(),
        CodeRedemption::Fresh(_)
    ));
    assert_eq!(store.get_refresh(h("rt-a-stale")).await.unwrap(), None);
    assert_eq!(store.get_refresh(h("rt-b0")).await.unwrap(), None);
    assert!(
        store
            .get_refresh(h("rt-a1"))
            .await
            .unwrap()
            .unwrap()
            .is_active(cutoff)
    );
    assert!(
        store
            .is_family_revoked(&FamilyId::new("family-c"))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .get_client("https://lapsed.example/c.json")
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .get_client("https://fresh.example/c.json")
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.get_client("dyn-1").await.unwrap().is_some());
    let kids: Vec<String> = store
        .list_signing_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.kid)
        .collect();
    assert_eq!(kids, ["key-current", "key-retiring"]);

    // Nothing more to purge at the same time.
    let again = store.purge_expired(cutoff).await.unwrap();
    assert_eq!(
        [
            again.codes,
            again.refresh_tokens,
            again.refresh_families,
            again.clients,
            again.signing_keys
        ],
        [0; 5]
    );

    // The kept used token still reveals a reuse.
    assert_eq!(
        store
            .rotate_refresh(h("rt-a0"), h("rt-a2"), a(NOW + 900), cutoff)
            .await
            .unwrap(),
        Rotation::Reused {
            family: FamilyId::new("family-a")
        }
    );
}

pub(crate) async fn secrets_are_stored_hashed<B: Backend>(b: &B) {
    let store = b.store();
    let client_secret = format!("client-secret-{}", random_hex(16));
    let code = format!("code-{}", random_hex(16));
    let first_refresh = format!("refresh-{}", random_hex(16));
    let next_refresh = format!("refresh-{}", random_hex(16));
    let client_id = format!("client-{}", random_hex(8));

    store
        .put_client(ClientRecord {
            client_secret_hash: Some(h(&client_secret)),
            token_endpoint_auth_method: "client_secret_basic".to_owned(),
            ..client(&client_id, ClientSource::Dynamic)
        })
        .await
        .unwrap();
    store
        .put_code(h(&code), grant(&client_id, NOW + 60))
        .await
        .unwrap();
    let record = refresh("family-1", &client_id, NOW + 3600);
    store
        .put_refresh(h(&first_refresh), record.clone())
        .await
        .unwrap();
    store
        .rotate_refresh(h(&first_refresh), h(&next_refresh), record, NOW)
        .await
        .unwrap();

    let raw = b.raw_contents().await;
    assert!(
        contains(&raw, client_id.as_bytes()),
        "the raw contents do not show the stored records"
    );
    for secret in [&client_secret, &code, &first_refresh, &next_refresh] {
        assert!(
            !contains(&raw, secret.as_bytes()),
            "a secret is stored in clear"
        );
        assert!(
            !contains(&raw, hex(secret.as_bytes()).as_bytes()),
            "a secret is stored hex-encoded"
        );
        let hash = h(secret);
        assert!(
            contains(&raw, hash.as_bytes()) || contains(&raw, hash.to_string().as_bytes()),
            "the secret's hash is not stored"
        );
    }
    // And the hash is what lookups go by.
    assert!(
        store
            .get_client(&client_id)
            .await
            .unwrap()
            .unwrap()
            .client_secret_hash
            .unwrap()
            .matches(&client_secret)
    );
}

/// Stores under test for the racing callers: the store and a replica, alternately.
async fn racing_stores<B: Backend>(b: &B) -> [Arc<dyn Store>; 2] {
    [b.store(), b.replica().await]
}

pub(crate) async fn concurrent_take_code_has_one_winner<B: Backend>(b: &B) {
    let stores = racing_stores(b).await;
    let code = h("contended-code");
    stores[0]
        .put_code(code, grant("client-1", NOW + 60))
        .await
        .unwrap();

    let barrier = Arc::new(Barrier::new(RACERS));
    let racers: Vec<_> = (0..RACERS)
        .map(|i| {
            let store = Arc::clone(&stores[i % 2]);
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                store.take_code(code, NOW).await.unwrap()
            })
        })
        .collect();
    let mut fresh = 0;
    let mut replayed = 0;
    for racer in racers {
        match racer.await.unwrap() {
            CodeRedemption::Fresh(_) => fresh += 1,
            CodeRedemption::Replayed { family: None } => replayed += 1,
            other => panic!("unexpected redemption: {other:?}"),
        }
    }
    assert_eq!((fresh, replayed), (1, RACERS - 1));
}

pub(crate) async fn concurrent_rotation_has_one_winner<B: Backend>(b: &B) {
    let stores = racing_stores(b).await;
    let family = FamilyId::new("contended-family");
    let record = refresh("contended-family", "client-1", NOW + 3600);
    stores[0]
        .put_refresh(h("contended-rt"), record.clone())
        .await
        .unwrap();

    let barrier = Arc::new(Barrier::new(RACERS));
    let racers: Vec<_> = (0..RACERS)
        .map(|i| {
            let store = Arc::clone(&stores[i % 2]);
            let barrier = Arc::clone(&barrier);
            let record = record.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let rotation = store
                    .rotate_refresh(h("contended-rt"), h(&format!("successor-{i}")), record, NOW)
                    .await
                    .unwrap();
                (i, rotation)
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut reused = 0;
    let mut revoked = 0;
    for racer in racers {
        match racer.await.unwrap() {
            (i, Rotation::Rotated(_)) => winners.push(i),
            (_, Rotation::Reused { family: f }) => {
                assert_eq!(f, family);
                reused += 1;
            }
            (_, Rotation::Revoked) => revoked += 1,
            (_, other) => panic!("unexpected rotation: {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    // Every loser came after the winner: the first saw a reuse and revoked the family, the
    // others saw either.
    assert!(reused >= 1);
    assert_eq!(reused + revoked, RACERS - 1);
    assert!(stores[1].is_family_revoked(&family).await.unwrap());

    // Only the winner's successor was stored.
    let mut stored = HashSet::new();
    for i in 0..RACERS {
        if stores[0]
            .get_refresh(h(&format!("successor-{i}")))
            .await
            .unwrap()
            .is_some()
        {
            stored.insert(i);
        }
    }
    assert_eq!(stored, HashSet::from([winners[0]]));
}
