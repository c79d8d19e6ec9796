//! The local JWT authorizer against moto's Cognito: tokens a user pool really issued (RS256,
//! verified with the pool's JWKS found through its discovery document) pass, ID and access
//! alike; the same tokens fail once expired, for another audience, or from an issuer whose
//! discovery names someone else.

use axum::http::{HeaderMap, HeaderValue, header};
use hms_test_support::cognito::{UserPool, claims_of};
use local_api::jwt::{JwtAuthorizer, Refusal};

fn bearer(token: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}")).unwrap());
    h
}

#[tokio::test]
async fn tokens_of_the_pool_pass_until_they_expire() {
    let pool = UserPool::create("local-api-jwt").await;
    let auth = JwtAuthorizer::new(&pool.issuer, &pool.client_id, &pool.discovery);
    let teacher = pool.sign_in("teacher", &["teachers", "admins"]).await;
    for token in [&teacher.id_token, &teacher.access_token] {
        let claims = auth.claims(&bearer(token)).await.unwrap();
        assert_eq!(claims["sub"], teacher.sub);
        // As API Gateway hands a list claim on: `[a b]` (Cognito lists a user's groups in no
        // particular order).
        let groups = &claims["cognito:groups"];
        assert!(groups == "[admins teachers]" || groups == "[teachers admins]", "{groups}");
        let exp = claims_of(token)["exp"].as_i64().unwrap();
        assert!(auth.claims_at(&bearer(token), exp - 1).await.is_ok(), "valid up to its last second");
        assert_eq!(auth.claims_at(&bearer(token), exp).await, Err(Refusal::Expired), "expired at exp");
    }
    let other_audience = JwtAuthorizer::new(&pool.issuer, "another-client", &pool.discovery);
    assert_eq!(other_audience.claims(&bearer(&teacher.id_token)).await, Err(Refusal::Audience));
    assert_eq!(other_audience.claims(&bearer(&teacher.access_token)).await, Err(Refusal::Audience));
    // The discovery document must name the issuer the authorizer was given.
    let other = UserPool::create("local-api-jwt-other").await;
    let crossed = JwtAuthorizer::new(&pool.issuer, &pool.client_id, &other.discovery);
    assert!(matches!(crossed.claims(&bearer(&teacher.id_token)).await, Err(Refusal::Keys(_))));
    assert_eq!(auth.claims(&HeaderMap::new()).await, Err(Refusal::NoToken));
    assert_eq!(auth.claims(&bearer("not.a.jwt")).await, Err(Refusal::Malformed));
}
