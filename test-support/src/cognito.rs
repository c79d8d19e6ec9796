//! Sign-in for the tests: a user pool in moto's Cognito (the same server as Secrets Manager),
//! set up as the template's (groups `admins` and `teachers`, a public app client), users signed in
//! with their password, and RS256 tokens verified against the pool's JWKS.
//!
//! Cognito's JSON protocol is spoken here directly (`X-Amz-Target`, unsigned: moto routes and
//! answers it as Cognito does), not through the Cognito SDK crate, which would add its build to
//! every test run for six calls. The scripts (`scripts/local-cognito.py`) use boto3.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

use crate::moto::moto_endpoint;

/// The groups the template's user pool has.
pub const GROUPS: [&str; 2] = ["admins", "teachers"];

/// A user pool in moto with its app client.
pub struct UserPool {
    endpoint: String,
    http: reqwest::Client,
    pub id: String,
    /// The app client the API's authorizer takes as its audience.
    pub client_id: String,
    /// The tokens' `iss`: the pool's AWS URL, as Cognito names it.
    pub issuer: String,
    /// Where the pool's OpenID configuration is served (moto's).
    pub discovery: String,
    password: String,
    users: Mutex<BTreeMap<String, String>>,
}

/// A signed-in user's tokens.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// `sub`: the user's id in every answer of the API.
    pub sub: String,
    pub id_token: String,
    pub access_token: String,
}

impl UserPool {
    /// A new pool named `name` with its groups and an app client like the template's.
    pub async fn create(name: &str) -> Self {
        let endpoint = moto_endpoint();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
        let pool = call(
            &http,
            &endpoint,
            "CreateUserPool",
            json!({"PoolName": format!("{name}-{}", uuid::Uuid::new_v4().simple()),
                   "Policies": {"PasswordPolicy": {"MinimumLength": 12}}}),
        )
        .await;
        let id = pool["UserPool"]["Id"].as_str().expect("a pool id").to_string();
        let mut me = Self {
            issuer: format!("https://cognito-idp.us-east-1.amazonaws.com/{id}"),
            discovery: format!("{endpoint}/{id}/.well-known/openid-configuration"),
            client_id: String::new(),
            endpoint,
            http,
            id,
            password: format!("Pw-{}", uuid::Uuid::new_v4().simple()),
            users: Mutex::new(BTreeMap::new()),
        };
        me.client_id = me.add_client("mobile-app").await;
        for group in GROUPS {
            me.call("CreateGroup", json!({"UserPoolId": me.id, "GroupName": group})).await;
        }
        me
    }

    /// Another app client of the pool (a public one: no secret); returns its id.
    pub async fn add_client(&self, name: &str) -> String {
        let made = self
            .call(
                "CreateUserPoolClient",
                json!({"UserPoolId": self.id, "ClientName": name, "GenerateSecret": false,
                       "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]}),
            )
            .await;
        made["UserPoolClient"]["ClientId"].as_str().expect("a client id").to_string()
    }

    /// The user `name` (made on first use, as an admin invites one, with a permanent password, in
    /// `groups`), signed in with the app client: its tokens.
    pub async fn sign_in(&self, name: &str, groups: &[&str]) -> Tokens {
        self.sign_in_with(&self.client_id, name, groups).await
    }

    /// [`UserPool::sign_in`] through the app client `client_id`.
    pub async fn sign_in_with(&self, client_id: &str, name: &str, groups: &[&str]) -> Tokens {
        let known = self.users.lock().unwrap().get(name).cloned();
        let sub = match known {
            Some(sub) => sub,
            None => self.add_user(name, groups).await,
        };
        let auth = self
            .call(
                "InitiateAuth",
                json!({"ClientId": client_id, "AuthFlow": "USER_PASSWORD_AUTH",
                       "AuthParameters": {"USERNAME": name, "PASSWORD": self.password}}),
            )
            .await;
        let result = &auth["AuthenticationResult"];
        let token = |k: &str| result[k].as_str().unwrap_or_else(|| panic!("{name}: no {k} in {auth}")).to_string();
        Tokens { sub, id_token: token("IdToken"), access_token: token("AccessToken") }
    }

    /// The id (`sub`) of user `name`, once signed in.
    pub fn sub(&self, name: &str) -> String {
        self.users.lock().unwrap().get(name).cloned().unwrap_or_else(|| panic!("{name} has not signed in"))
    }

    async fn add_user(&self, name: &str, groups: &[&str]) -> String {
        let made = self
            .call(
                "AdminCreateUser",
                json!({"UserPoolId": self.id, "Username": name, "MessageAction": "SUPPRESS",
                       "UserAttributes": [{"Name": "email", "Value": format!("{name}@example.test")}]}),
            )
            .await;
        let sub = made["User"]["Attributes"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["Name"] == "sub"))
            .and_then(|x| x["Value"].as_str())
            .expect("the new user's sub")
            .to_string();
        self.call(
            "AdminSetUserPassword",
            json!({"UserPoolId": self.id, "Username": name, "Password": self.password, "Permanent": true}),
        )
        .await;
        for group in groups {
            self.call("AdminAddUserToGroup", json!({"UserPoolId": self.id, "Username": name, "GroupName": group}))
                .await;
        }
        self.users.lock().unwrap().insert(name.to_string(), sub.clone());
        sub
    }

    async fn call(&self, action: &str, body: Value) -> Value {
        call(&self.http, &self.endpoint, action, body).await
    }
}

/// One call of Cognito's API at `endpoint`; panics on an error answer.
async fn call(http: &reqwest::Client, endpoint: &str, action: &str, body: Value) -> Value {
    let resp = http
        .post(format!("{endpoint}/"))
        .header("x-amz-target", format!("AWSCognitoIdentityProviderService.{action}"))
        .header("content-type", "application/x-amz-json-1.1")
        .body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("Cognito {action}: {e}"));
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    assert!(status.is_success(), "Cognito {action}: {status} {text}");
    if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("Cognito answers JSON") }
}

/// A token with `claims`, signed RS256 with a key made here and never published (`kid` as
/// given): what an attacker who does not hold the pool's key could present.
pub fn signed_elsewhere(claims: &Value, kid: &str) -> String {
    use rcgen::SigningKey;
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("an RSA key");
    let head = B64.encode(json!({"alg": "RS256", "kid": kid, "typ": "JWT"}).to_string());
    let body = B64.encode(claims.to_string());
    let signature = key.sign(format!("{head}.{body}").as_bytes()).expect("signing");
    format!("{head}.{body}.{}", B64.encode(signature))
}

/// `token` with its claims changed by `edit` and its signature kept: a tampered token.
pub fn tampered(token: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut claims = claims_of(token);
    edit(&mut claims);
    let parts: Vec<&str> = token.split('.').collect();
    format!("{}.{}.{}", parts[0], B64.encode(claims.to_string()), parts[2])
}

/// The claims of `token`, unverified (to read what a test is about to change).
pub fn claims_of(token: &str) -> Value {
    part(token, 1)
}

/// The header of `token`, unverified (its `kid`).
pub fn header_of(token: &str) -> Value {
    part(token, 0)
}

/// Part `index` of a JWT (0 the header, 1 the claims), decoded.
fn part(token: &str, index: usize) -> Value {
    let text = token.split('.').nth(index).expect("a JWT");
    serde_json::from_slice(&B64.decode(text).expect("base64url")).expect("JSON")
}
