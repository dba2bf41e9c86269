//! Tokens shaped like those of real identity providers (claim sets as the vendors document
//! them), signed with [`TestKey::Rsa`] / RS256 as all four do by default.
//!
//! Each function takes the full issuer URL; [`OidcProvider::mint`](super::OidcProvider::mint)
//! and its shortcuts pass the issuer they serve. Identifiers are fixed constants (so tests can
//! assert on them); `jti`/`uti` values are random.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::keys::TestKey;
use super::token::JwtBuilder;
use crate::now;

/// Okta custom authorization server path (`{okta}/oauth2/default`).
pub const OKTA_AUTH_SERVER_PATH: &str = "/oauth2/default";
/// Okta's default custom authorization server audience.
pub const OKTA_AUDIENCE: &str = "api://default";
/// Okta OAuth client id (`cid`, and `aud` of ID tokens).
pub const OKTA_CLIENT_ID: &str = "0oa8f5j3ecb5w6Ldc1d7";
/// Okta user id (`uid`, and `sub` of ID tokens).
pub const OKTA_USER_ID: &str = "00u1a2b3c4d5e6f7g8h9";
/// The user's login (`sub` of Okta access tokens, `email` elsewhere).
pub const USER_EMAIL: &str = "alice@example.com";
/// Okta access token scopes (`scp`, a JSON array).
pub const OKTA_SCOPES: [&str; 3] = ["openid", "email", "mcp:tools"];

/// Google OAuth client id (`aud`, `azp`).
pub const GOOGLE_CLIENT_ID: &str =
    "1234567890-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com";
/// Google account id (`sub`, a numeric string).
pub const GOOGLE_SUBJECT: &str = "110169484474386276334";
/// Google Workspace domain (`hd`).
pub const GOOGLE_HOSTED_DOMAIN: &str = "example.com";
/// Scope of Google opaque access tokens in tokeninfo.
pub const GOOGLE_SCOPE: &str = "openid https://www.googleapis.com/auth/userinfo.email";

/// Entra ID tenant id (`tid`, and the issuer path).
pub const AZURE_TENANT_ID: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
/// Entra ID application (client) id of the protected API (`aud` of v2 tokens).
pub const AZURE_CLIENT_ID: &str = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
/// Application ID URI of the protected API (`aud` of v1 tokens).
pub const AZURE_APP_ID_URI: &str = "api://6e74172b-be56-4843-9ff4-e66a39bb12e3";
/// The calling client's application id (`azp` in v2, `appid` in v1).
pub const AZURE_CALLER_APP_ID: &str = "2d4d11a2-f814-46a7-890a-274a72a7309e";
/// The user's object id (`oid`).
pub const AZURE_OBJECT_ID: &str = "690222be-ff1a-4d56-abd1-7e4f7d38e474";
/// The user's pairwise subject (`sub`).
pub const AZURE_SUBJECT: &str = "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ";
/// The user's UPN (`preferred_username`, `upn`, `unique_name`).
pub const AZURE_UPN: &str = "alice@contoso.onmicrosoft.com";
/// Delegated scopes (`scp`, space-separated).
pub const AZURE_SCOPES: &str = "mcp.read mcp.write";
/// App roles (`roles`).
pub const AZURE_ROLES: [&str; 1] = ["Tools.Invoke"];

/// Cognito region.
pub const COGNITO_REGION: &str = "us-east-1";
/// Cognito user pool id (`{region}_{id}`, the issuer path).
pub const COGNITO_USER_POOL_ID: &str = "us-east-1_Ab129faBb";
/// Cognito app client id (`client_id`, and `aud` of ID tokens).
pub const COGNITO_CLIENT_ID: &str = "3n4b5urk1ft4fl3mg5e62d9ado";
/// Cognito user `sub` (UUID).
pub const COGNITO_SUBJECT: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
/// Cognito user name (`username`, `cognito:username`).
pub const COGNITO_USERNAME: &str = "alice";
/// Cognito access token scopes (`scope`, space-separated; custom scopes are
/// `{resource server}/{scope}`).
pub const COGNITO_SCOPES: &str = "openid email mcp-api/tools.read";
/// Cognito groups (`cognito:groups`).
pub const COGNITO_GROUPS: [&str; 1] = ["admins"];

/// A token shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Vendor {
    /// Okta access token from the `default` custom authorization server: `iss`
    /// `{base}/oauth2/default`, `aud` "api://default", `cid`, `uid`, `scp` array, `sub` the
    /// login, `ver` 1.
    OktaAccess,
    /// Okta access token from the org authorization server: `iss` `{base}`, `aud` the issuer.
    OktaOrgAccess,
    /// Okta ID token (custom AS): `aud` the client id, `nonce`, `at_hash`, `amr`, `idp`,
    /// `auth_time`; no `scp`/`cid`.
    OktaId,
    /// Google ID token: `iss` the provider's base (Google's has no path), `aud`/`azp` the client
    /// id, numeric `sub`, `email`, `email_verified`, `hd`.
    GoogleId,
    /// Entra ID v2 access token: `iss` `{base}/{tid}/v2.0`, `aud` the client id GUID, `tid`,
    /// `oid`, `scp` string, `roles`, `azp`, `preferred_username`, `ver` "2.0".
    AzureV2Access,
    /// Entra ID v1 access token: `iss` `{base}/{tid}/` (trailing slash, like
    /// `https://sts.windows.net/{tid}/`), `aud` "api://...", `appid`, `upn`, `unique_name`,
    /// `scp`, `ver` "1.0".
    AzureV1Access,
    /// Entra ID v2 ID token: `aud` the client id, `nonce`; no `scp`/`roles`.
    AzureId,
    /// Cognito access token: `iss` `{base}/{region}_{pool}`, no `aud`, `client_id`,
    /// `token_use` "access", `scope` string, `username`, `cognito:groups`.
    CognitoAccess,
    /// Cognito ID token: `aud` the app client id, `token_use` "id", `cognito:username`,
    /// `email`.
    CognitoId,
}

impl Vendor {
    /// Every shape.
    pub const ALL: [Vendor; 9] = [
        Vendor::OktaAccess,
        Vendor::OktaOrgAccess,
        Vendor::OktaId,
        Vendor::GoogleId,
        Vendor::AzureV2Access,
        Vendor::AzureV1Access,
        Vendor::AzureId,
        Vendor::CognitoAccess,
        Vendor::CognitoId,
    ];

    /// The issuer path on the provider ("" for the base URL itself).
    pub fn issuer_path(self) -> String {
        match self {
            Vendor::OktaAccess | Vendor::OktaId => OKTA_AUTH_SERVER_PATH.to_owned(),
            Vendor::OktaOrgAccess | Vendor::GoogleId => String::new(),
            Vendor::AzureV2Access | Vendor::AzureId => format!("/{AZURE_TENANT_ID}/v2.0"),
            Vendor::AzureV1Access => format!("/{AZURE_TENANT_ID}/"),
            Vendor::CognitoAccess | Vendor::CognitoId => format!("/{COGNITO_USER_POOL_ID}"),
        }
    }

    /// A token of this shape issued by `issuer`, valid for one hour.
    pub fn token(self, issuer: &str) -> JwtBuilder {
        match self {
            Vendor::OktaAccess => okta_access(issuer, OKTA_AUDIENCE),
            Vendor::OktaOrgAccess => okta_access(issuer, issuer),
            Vendor::OktaId => okta_id(issuer),
            Vendor::GoogleId => google_id(issuer),
            Vendor::AzureV2Access => azure_v2_access(issuer),
            Vendor::AzureV1Access => azure_v1_access(issuer),
            Vendor::AzureId => azure_id(issuer),
            Vendor::CognitoAccess => cognito_access(issuer),
            Vendor::CognitoId => cognito_id(issuer),
        }
    }
}

/// `n` random bytes, base64url.
pub(crate) fn random_b64(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).expect("OS randomness");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A random UUID (version 4 form).
pub fn random_uuid() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("OS randomness");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A fresh Google-style opaque access token: `ya29.` and 120 random base64url characters.
pub fn google_opaque_token() -> String {
    format!("ya29.{}", random_b64(90))
}

/// The claims registered for a Google opaque access token (as tokeninfo reports them):
/// `aud`/`azp` [`GOOGLE_CLIENT_ID`], `sub`, `scope` [`GOOGLE_SCOPE`], `exp` in 3599 s, `email`,
/// `email_verified`, `access_type`. Stored as JSON numbers/booleans; tokeninfo renders them as
/// strings, as Google does.
pub fn google_access_claims() -> Value {
    json!({
        "aud": GOOGLE_CLIENT_ID,
        "azp": GOOGLE_CLIENT_ID,
        "sub": GOOGLE_SUBJECT,
        "scope": GOOGLE_SCOPE,
        "exp": now() + 3599,
        "email": USER_EMAIL,
        "email_verified": true,
        "access_type": "online",
    })
}

fn rsa(claims: Value) -> JwtBuilder {
    JwtBuilder::with_claims(TestKey::Rsa, claims)
}

fn okta_access(issuer: &str, audience: &str) -> JwtBuilder {
    let now = now();
    // Okta access token headers carry kid and alg only.
    rsa(json!({
        "ver": 1,
        "jti": format!("AT.{}", random_b64(32)),
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + 3600,
        "cid": OKTA_CLIENT_ID,
        "uid": OKTA_USER_ID,
        "scp": OKTA_SCOPES,
        "auth_time": now - 60,
        "sub": USER_EMAIL,
    }))
    .remove_header_param("typ")
}

fn okta_id(issuer: &str) -> JwtBuilder {
    let now = now();
    rsa(json!({
        "sub": OKTA_USER_ID,
        "name": "Alice Example",
        "email": USER_EMAIL,
        "ver": 1,
        "iss": issuer,
        "aud": OKTA_CLIENT_ID,
        "iat": now,
        "exp": now + 3600,
        "jti": format!("ID.{}", random_b64(32)),
        "amr": ["pwd"],
        "idp": "00o1a2b3c4d5e6f7g8h9",
        "nonce": "n-0S6_WzA2Mj",
        "preferred_username": USER_EMAIL,
        "auth_time": now - 60,
        "at_hash": random_b64(16),
    }))
    .remove_header_param("typ")
}

fn google_id(issuer: &str) -> JwtBuilder {
    let now = now();
    rsa(json!({
        "iss": issuer,
        "azp": GOOGLE_CLIENT_ID,
        "aud": GOOGLE_CLIENT_ID,
        "sub": GOOGLE_SUBJECT,
        "hd": GOOGLE_HOSTED_DOMAIN,
        "email": USER_EMAIL,
        "email_verified": true,
        "at_hash": random_b64(16),
        "name": "Alice Example",
        "iat": now,
        "exp": now + 3600,
    }))
}

/// Entra ID headers carry `x5t` equal to `kid`.
fn azure(claims: Value) -> JwtBuilder {
    rsa(claims).header_param("x5t", json!(TestKey::Rsa.kid()))
}

fn azure_v2_access(issuer: &str) -> JwtBuilder {
    let now = now();
    azure(json!({
        "aud": AZURE_CLIENT_ID,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "aio": random_b64(40),
        "azp": AZURE_CALLER_APP_ID,
        "azpacr": "0",
        "name": "Alice Example",
        "oid": AZURE_OBJECT_ID,
        "preferred_username": AZURE_UPN,
        "rh": "0.AXEAjYFtiRGMDESyEjakBLZtrSsXdG5WvkNIn_TmajnUdBI.",
        "roles": AZURE_ROLES,
        "scp": AZURE_SCOPES,
        "sub": AZURE_SUBJECT,
        "tid": AZURE_TENANT_ID,
        "uti": random_b64(16),
        "ver": "2.0",
    }))
}

fn azure_v1_access(issuer: &str) -> JwtBuilder {
    let now = now();
    azure(json!({
        "aud": AZURE_APP_ID_URI,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "acr": "1",
        "aio": random_b64(40),
        "amr": ["pwd"],
        "appid": AZURE_CALLER_APP_ID,
        "appidacr": "0",
        "family_name": "Example",
        "given_name": "Alice",
        "ipaddr": "203.0.113.7",
        "name": "Alice Example",
        "oid": AZURE_OBJECT_ID,
        "rh": "0.AXEAjYFtiRGMDESyEjakBLZtrSsXdG5WvkNIn_TmajnUdBI.",
        "scp": AZURE_SCOPES,
        "sub": AZURE_SUBJECT,
        "tid": AZURE_TENANT_ID,
        "unique_name": AZURE_UPN,
        "upn": AZURE_UPN,
        "uti": random_b64(16),
        "ver": "1.0",
    }))
}

fn azure_id(issuer: &str) -> JwtBuilder {
    let now = now();
    azure(json!({
        "aud": AZURE_CLIENT_ID,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "aio": random_b64(40),
        "name": "Alice Example",
        "nonce": "n-0S6_WzA2Mj",
        "oid": AZURE_OBJECT_ID,
        "preferred_username": AZURE_UPN,
        "rh": "0.AXEAjYFtiRGMDESyEjakBLZtrSsXdG5WvkNIn_TmajnUdBI.",
        "sub": AZURE_SUBJECT,
        "tid": AZURE_TENANT_ID,
        "uti": random_b64(16),
        "ver": "2.0",
    }))
}

fn cognito_access(issuer: &str) -> JwtBuilder {
    let now = now();
    rsa(json!({
        "sub": COGNITO_SUBJECT,
        "cognito:groups": COGNITO_GROUPS,
        "iss": issuer,
        "version": 2,
        "client_id": COGNITO_CLIENT_ID,
        "origin_jti": random_uuid(),
        "event_id": random_uuid(),
        "token_use": "access",
        "scope": COGNITO_SCOPES,
        "auth_time": now - 60,
        "exp": now + 3600,
        "iat": now,
        "jti": random_uuid(),
        "username": COGNITO_USERNAME,
    }))
    .remove_header_param("typ")
}

fn cognito_id(issuer: &str) -> JwtBuilder {
    let now = now();
    rsa(json!({
        "sub": COGNITO_SUBJECT,
        "cognito:groups": COGNITO_GROUPS,
        "email_verified": true,
        "iss": issuer,
        "cognito:username": COGNITO_USERNAME,
        "origin_jti": random_uuid(),
        "aud": COGNITO_CLIENT_ID,
        "event_id": random_uuid(),
        "token_use": "id",
        "auth_time": now - 60,
        "exp": now + 3600,
        "iat": now,
        "jti": random_uuid(),
        "email": USER_EMAIL,
    }))
    .remove_header_param("typ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_have_their_vendor_claims() {
        let iss = "https://idp.test";
        let okta = Vendor::OktaAccess.token(iss).claims_json();
        assert_eq!(okta["aud"], OKTA_AUDIENCE);
        assert!(okta["scp"].is_array() && okta.get("scope").is_none());
        assert_eq!(okta["cid"], OKTA_CLIENT_ID);
        let okta_id = Vendor::OktaId.token(iss).claims_json();
        assert_eq!(okta_id["aud"], OKTA_CLIENT_ID);
        assert!(okta_id.get("scp").is_none() && okta_id.get("cid").is_none());
        for c in ["nonce", "at_hash", "amr", "idp", "auth_time"] {
            assert!(okta_id.get(c).is_some(), "{c}");
        }
        let google = Vendor::GoogleId.token(iss).claims_json();
        assert!(
            google["sub"]
                .as_str()
                .unwrap()
                .chars()
                .all(|c| c.is_ascii_digit())
        );
        assert_eq!(google["email_verified"], true);
        let v2 = Vendor::AzureV2Access.token(iss).claims_json();
        assert_eq!(
            (v2["ver"].as_str(), v2["scp"].as_str()),
            (Some("2.0"), Some(AZURE_SCOPES))
        );
        assert!(v2["roles"].is_array());
        let v1 = Vendor::AzureV1Access.token(iss).claims_json();
        assert_eq!(v1["aud"], AZURE_APP_ID_URI);
        assert_eq!(v1["ver"], "1.0");
        let azure_id = Vendor::AzureId.token(iss).claims_json();
        assert!(azure_id.get("scp").is_none() && azure_id.get("roles").is_none());
        let access = Vendor::CognitoAccess.token(iss).claims_json();
        assert!(access.get("aud").is_none());
        assert_eq!(access["token_use"], "access");
        let id = Vendor::CognitoId.token(iss).claims_json();
        assert_eq!(
            (id["aud"].as_str(), id["token_use"].as_str()),
            (Some(COGNITO_CLIENT_ID), Some("id"))
        );
        let header = Vendor::AzureV2Access.token(iss).header_json();
        assert_eq!(header["x5t"], header["kid"]);
    }

    #[test]
    fn random_values() {
        let uuid = random_uuid();
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
        assert_ne!(random_uuid(), uuid);
        let token = google_opaque_token();
        assert!(token.starts_with("ya29.") && token.len() == 125);
    }
}
