//! What the emulator's test files share: an emulator on a free port, tokens signed as an app's
//! backend and client would sign them, the docs' examples and a shape comparison against them.

#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use hms_emulator::Emulator;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

pub const KEY: &str = "emu-key";
pub const SECRET: &str = "emu-secret-for-tests";
pub const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/tests/fixtures/100ms-examples");

pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

pub fn jwt(claims: Value, secret: &str) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

pub fn management(secret: &str) -> String {
    let t = now();
    jwt(
        json!({"access_key": KEY, "type": "management", "version": 2, "iat": t, "nbf": t - 5, "exp": t + 600, "jti": uuid::Uuid::new_v4().to_string()}),
        secret,
    )
}

pub fn app_token(room_id: &str, user: &str, role: &str) -> String {
    let t = now();
    jwt(
        json!({"access_key": KEY, "type": "app", "version": 2, "iat": t, "nbf": t - 5, "exp": t + 600, "jti": "a1",
               "room_id": room_id, "user_id": user, "role": role}),
        SECRET,
    )
}

/// The emulator as its own tests drive it: its raw API with tokens they sign themselves.
/// (Not test-support's `Hms`, which drives it as the functions' backend: test-support depends on
/// hms-shared and this crate, and the emulator's tests stay free of both.)
pub struct Emu {
    pub base: String,
    pub http: reqwest::Client,
    pub token: String,
}

impl Emu {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(Emulator::new(KEY, SECRET).serve(listener));
        Self { base, http: reqwest::Client::new(), token: management(SECRET) }
    }

    pub async fn v2(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.with_token(method, path, body, Some(&self.token)).await
    }

    pub async fn with_token(&self, method: &str, path: &str, body: Option<Value>, token: Option<&str>) -> (u16, Value) {
        let mut req = self
            .http
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), format!("{}/v2{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Calls the control API and gives its status and body.
    pub async fn control_answer(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        let resp = self
            .http
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), format!("{}/_emulator/{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Calls the control API; panics unless it succeeds. The body.
    pub async fn control(&self, method: &str, path: &str, body: Value) -> Value {
        let (status, answer) = self.control_answer(method, path, body).await;
        assert!((200..300).contains(&status), "emulator {method} {path}: {status} {answer}");
        answer
    }
}

pub fn example(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(format!("{EXAMPLES}/{name}")).unwrap()).unwrap()
}

/// Every key of `doc` is in `ours` with the same JSON type, recursively (extra keys allowed).
/// Where the docs' list has items, ours must have some too, and each of ours has the shape of
/// one of the docs' items; objects keyed by ids (like `peers`) likewise, entry by entry.
pub fn same_shape(doc: &Value, ours: &Value, path: &str, ignore: &[&str]) {
    if let Err(why) = shape_difference(doc, ours, path, ignore) {
        panic!("{why}");
    }
}

fn is_id_key(k: &str) -> bool {
    k.len() >= 24 && k.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

/// Each of `ours` has the shape of one of `docs`, and there is at least one where the docs have some.
fn each_like_one_of<'a>(
    docs: &[&Value],
    ours: impl Iterator<Item = &'a Value>,
    path: &str,
    ignore: &[&str],
) -> Result<(), String> {
    if docs.is_empty() {
        return Ok(()); // nothing documented to compare with
    }
    let mut seen = 0;
    for (i, ov) in ours.enumerate() {
        seen += 1;
        let mut why = String::new();
        if !docs.iter().any(|dv| shape_difference(dv, ov, &format!("{path}[{i}]"), ignore).map_err(|w| why = w).is_ok())
        {
            return Err(why);
        }
    }
    if seen == 0 { Err(format!("{path}: no items where the docs have some")) } else { Ok(()) }
}

fn shape_difference(doc: &Value, ours: &Value, path: &str, ignore: &[&str]) -> Result<(), String> {
    match (doc, ours) {
        (Value::Object(d), Value::Object(o)) => {
            let by_id: Vec<&Value> = d.iter().filter(|(k, _)| is_id_key(k)).map(|(_, v)| v).collect();
            if !by_id.is_empty() {
                return each_like_one_of(&by_id, o.values(), &format!("{path}.<id>"), ignore);
            }
            for (k, dv) in d {
                if ignore.contains(&k.as_str()) {
                    continue;
                }
                let ov = o.get(k).ok_or_else(|| format!("{path}.{k} missing in {ours}"))?;
                shape_difference(dv, ov, &format!("{path}.{k}"), ignore)?;
            }
            Ok(())
        }
        (Value::Array(d), Value::Array(o)) => each_like_one_of(&d.iter().collect::<Vec<_>>(), o.iter(), path, ignore),
        (Value::Number(_), Value::Number(_))
        | (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_))
        | (Value::Null, Value::Null) => Ok(()),
        _ => Err(format!("{path}: the docs have {doc}, we have {ours}")),
    }
}

pub async fn room(emu: &Emu, name: &str) -> Value {
    let (s, r) = emu.v2("POST", "/rooms", Some(json!({"name": name, "description": "d", "region": "in"}))).await;
    assert_eq!(s, 200, "{r}");
    r
}
