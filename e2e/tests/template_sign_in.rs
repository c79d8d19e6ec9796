//! Sign-in in template.yaml, read as CloudFormation reads it for a set of parameters (e2e's
//! `cfn`): the defaults make the stack's own Cognito user pool, its app client and groups, and
//! wire the JWT authorizer and the claim settings to them; a deployment that names its own
//! issuer gets none of it; and the fail-closed rules still refuse what they refused.

use hms_e2e::cfn::{Params, Template};
use serde_yaml_ng::Value;

const TEMPLATE: &str = include_str!("../../template.yaml");
const ARNS: [(&str, &str); 2] = [
    ("HmsSecretArn", "arn:aws:secretsmanager:us-east-1:123456789012:secret:hms-AbCdEf"),
    ("WebhookSecretArn", "arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook-AbCdEf"),
];
const POOL_RESOURCES: [(&str, &str); 4] = [
    ("UserPool", "AWS::Cognito::UserPool"),
    ("UserPoolClient", "AWS::Cognito::UserPoolClient"),
    ("AdminsGroup", "AWS::Cognito::UserPoolGroup"),
    ("TeachersGroup", "AWS::Cognito::UserPoolGroup"),
];

fn params(t: &Template, overrides: &[(&str, &str)]) -> Params {
    let all: Vec<(&str, &str)> = ARNS.iter().chain(overrides).copied().collect();
    t.params(&all)
}

fn text(s: &str) -> Value {
    Value::String(s.to_string())
}

/// What the functions are told about callers (the Globals' environment), resolved.
fn caller_env(t: &Template, p: &Params) -> Vec<(String, String)> {
    ["CALLER_AUTH", "ADMIN_CLAIM_NAME", "ADMIN_CLAIM_VALUE", "CREATOR_CLAIM", "ROLE_CLAIMS"]
        .iter()
        .map(|k| {
            let v = t.raw(&format!("Globals/Function/Environment/Variables/{k}")).expect("the variable");
            (k.to_string(), t.resolve(v, p).as_str().unwrap_or_default().to_string())
        })
        .collect()
}

fn env(pairs: [(&str, &str); 5]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn the_defaults_bring_a_user_pool_and_wire_everything_to_it() {
    let t = Template::parse(TEMPLATE);
    let p = params(&t, &[]);
    assert_eq!(t.refusals(&p), Vec::<String>::new(), "the defaults deploy");
    let created = t.created(&p);
    for (name, kind) in POOL_RESOURCES {
        assert_eq!(created.get(name).map(String::as_str), Some(kind), "{name}");
    }
    assert_eq!(created.get("JwtAuthorizer").map(String::as_str), Some("AWS::ApiGatewayV2::Authorizer"));
    // The authorizer takes the pool's tokens for the app client.
    assert_eq!(t.property("JwtAuthorizer", "JwtConfiguration/Issuer", &p), text("Sub:https://${UserPool.ProviderURL}"));
    assert_eq!(
        t.property("JwtAuthorizer", "JwtConfiguration/Audience", &p),
        Value::Sequence(vec![text("Ref:UserPoolClient")])
    );
    // The groups, and the claim settings defaulting to them.
    assert_eq!(t.property("AdminsGroup", "GroupName", &p), text("admins"));
    assert_eq!(t.property("TeachersGroup", "GroupName", &p), text("teachers"));
    for group in ["AdminsGroup", "TeachersGroup"] {
        assert_eq!(t.property(group, "UserPoolId", &p), text("Ref:UserPool"));
    }
    assert_eq!(
        caller_env(&t, &p),
        env([
            ("CALLER_AUTH", "jwt"),
            ("ADMIN_CLAIM_NAME", "cognito:groups"),
            ("ADMIN_CLAIM_VALUE", "admins"),
            ("CREATOR_CLAIM", "cognito:groups=teachers"),
            ("ROLE_CLAIMS", "host=cognito:groups=teachers"),
        ])
    );
    // A mobile app's client: public, SRP and refresh only, no user-existence hints, lifetimes
    // from the parameters.
    let client = |k: &str| t.property("UserPoolClient", k, &p);
    assert_eq!(client("UserPoolId"), text("Ref:UserPool"));
    assert_eq!(client("GenerateSecret"), Value::Bool(false));
    assert_eq!(
        client("ExplicitAuthFlows"),
        serde_yaml_ng::from_str::<Value>("[ALLOW_USER_SRP_AUTH, ALLOW_REFRESH_TOKEN_AUTH]").unwrap()
    );
    assert_eq!(client("PreventUserExistenceErrors"), text("ENABLED"));
    assert_eq!(client("AccessTokenValidity"), text("60"));
    assert_eq!(client("IdTokenValidity"), text("60"));
    assert_eq!(client("RefreshTokenValidity"), text("30"));
    // The pool: invitations only by default, verified emails, a password policy, MFA as an
    // option, and it outlives the stack.
    let pool = |k: &str| t.property("UserPool", k, &p);
    assert_eq!(pool("AdminCreateUserConfig/AllowAdminCreateUserOnly"), Value::Bool(true));
    assert_eq!(pool("AutoVerifiedAttributes"), Value::Sequence(vec![text("email")]));
    assert_eq!(pool("DeletionProtection"), text("ACTIVE"));
    assert_eq!(pool("MfaConfiguration"), text("OPTIONAL"));
    assert_eq!(pool("EnabledMfas"), Value::Sequence(vec![text("SOFTWARE_TOKEN_MFA")]));
    assert!(pool("Policies/PasswordPolicy/MinimumLength").as_u64().is_some_and(|n| n >= 12));
    assert_eq!(t.raw("Resources/UserPool/DeletionPolicy"), Some(&text("Retain")));
    // What the app's config needs.
    for output in ["Region", "UserPoolId", "UserPoolClientId", "ApiUrl"] {
        assert!(t.output(output, &p).is_some(), "{output}");
    }
    // Sign-up, MFA off: parameters.
    let p = params(&t, &[("SignUpEnabled", "true"), ("MfaConfiguration", "OFF")]);
    assert_eq!(t.property("UserPool", "AdminCreateUserConfig/AllowAdminCreateUserOnly", &p), Value::Bool(false));
    assert_eq!(t.property("UserPool", "MfaConfiguration", &p), text("OFF"));
    assert_eq!(t.property("UserPool", "EnabledMfas", &p), Value::Null, "no MFA kinds with MFA off");
}

#[test]
fn a_named_issuer_gets_no_pool() {
    let t = Template::parse(TEMPLATE);
    let own = [("JwtIssuer", "https://example.auth0.com/"), ("JwtAudience", "api-client"), ("AdminClaimValue", "ops")];
    let p = params(&t, &own);
    assert_eq!(t.refusals(&p), Vec::<String>::new());
    let created = t.created(&p);
    assert!(created.values().all(|kind| !kind.starts_with("AWS::Cognito::")), "{created:?}");
    assert!(created.contains_key("JwtAuthorizer"));
    assert_eq!(t.property("JwtAuthorizer", "JwtConfiguration/Issuer", &p), text("https://example.auth0.com/"));
    assert_eq!(t.property("JwtAuthorizer", "JwtConfiguration/Audience", &p), Value::Sequence(vec![text("api-client")]));
    assert_eq!(
        caller_env(&t, &p),
        env([
            ("CALLER_AUTH", "jwt"),
            ("ADMIN_CLAIM_NAME", "cognito:groups"),
            ("ADMIN_CLAIM_VALUE", "ops"),
            ("CREATOR_CLAIM", ""),
            ("ROLE_CLAIMS", ""),
        ])
    );
    for output in ["UserPoolId", "UserPoolClientId"] {
        assert!(t.output(output, &p).is_none(), "{output}");
    }
}

#[test]
fn the_fail_closed_rules_still_hold() {
    let t = Template::parse(TEMPLATE);
    let refused = |overrides: &[(&str, &str)]| !t.refusals(&params(&t, overrides)).is_empty();
    // An issuer of your own needs its audience and the value that makes an admin: without them a
    // deploy would take any client's tokens, or guess who runs every room.
    assert!(refused(&[("JwtIssuer", "https://idp.example"), ("AdminClaimValue", "ops")]));
    assert!(refused(&[("JwtIssuer", "https://idp.example"), ("JwtAudience", "app")]));
    // An audience without an issuer is one of the two setups half given.
    assert!(refused(&[("JwtAudience", "app")]));
    // Nobody may run every room unless a claim says who.
    assert!(refused(&[("AdminClaimName", "")]));
    // Open is explicit, and then names no claims it would never check, and makes no pool.
    assert!(refused(&[("AllowOpenApi", "true"), ("CreatorClaim", "cognito:groups=teachers")]));
    assert!(refused(&[("AllowOpenApi", "true"), ("JwtIssuer", "https://idp.example")]));
    let open = params(&t, &[("AllowOpenApi", "true")]);
    assert!(t.refusals(&open).is_empty());
    let created = t.created(&open);
    assert!(!created.contains_key("JwtAuthorizer") && !created.contains_key("UserPool"), "{created:?}");
    assert_eq!(caller_env(&t, &open)[0], ("CALLER_AUTH".to_string(), "none".to_string()));
}

/// The heart of the checks above, as one verdict on a template's text.
fn sign_in_holds(text_of_template: &str) -> bool {
    let t = Template::parse(text_of_template);
    let defaults = params(&t, &[]);
    let own = params(&t, &[("JwtIssuer", "https://i"), ("JwtAudience", "a"), ("AdminClaimValue", "o")]);
    let half_own = params(&t, &[("JwtIssuer", "https://i"), ("AdminClaimValue", "o")]);
    t.refusals(&defaults).is_empty()
        && t.refusals(&own).is_empty()
        && !t.refusals(&half_own).is_empty()
        && t.created(&own).values().all(|k| !k.starts_with("AWS::Cognito::"))
        && t.property("JwtAuthorizer", "JwtConfiguration/Issuer", &defaults)
            == text("Sub:https://${UserPool.ProviderURL}")
        && t.property("UserPoolClient", "GenerateSecret", &defaults) == Value::Bool(false)
        && caller_env(&t, &defaults)[2].1 == "admins"
}

/// The verdict catches a template that drifts: each mutation makes it fail.
#[test]
fn the_checks_catch_a_weaker_template() {
    assert!(sign_in_holds(TEMPLATE));
    let mutations = [
        (
            "the pool made with an issuer too",
            "CreatesUserPool: !And [!Condition HasJwtAuth, !Equals [!Ref JwtIssuer, \"\"]]",
            "CreatesUserPool: !Condition HasJwtAuth",
        ),
        (
            "the authorizer on the issuer parameter",
            "Issuer: !If [CreatesUserPool, !Sub \"https://${UserPool.ProviderURL}\", !Ref JwtIssuer]",
            "Issuer: !Ref JwtIssuer",
        ),
        (
            "no audience rule",
            "      - Assert: !Not [!Equals [!Ref JwtAudience, \"\"]]\n",
            "      - Assert: !Not [!Equals [!Ref AdminClaimName, \"\"]]\n",
        ),
        ("a client secret", "GenerateSecret: false", "GenerateSecret: true"),
        (
            "admins defaulting to teachers",
            "!If [PoolAdmins, admins, !Ref AdminClaimValue]",
            "!If [PoolAdmins, teachers, !Ref AdminClaimValue]",
        ),
    ];
    for (what, from, to) in mutations {
        assert!(TEMPLATE.contains(from), "{what}: the mutation starts from the real template");
        assert!(!sign_in_holds(&TEMPLATE.replacen(from, to, 1)), "{what}: not caught");
    }
}

/// scripts/amplify-outputs.py writes the app's config from a stack's outputs and parameters: the
/// outputs it reads are the template's, and the sign-in settings it writes are the pool's.
#[test]
fn the_apps_config_is_the_stacks() {
    let t = Template::parse(TEMPLATE);
    let p = params(&t, &[("MfaConfiguration", "ON"), ("SignUpEnabled", "true")]);
    let outputs = [
        ("Region", "eu-west-1"),
        ("UserPoolId", "eu-west-1_AbCdEf123"),
        ("UserPoolClientId", "1example23456789"),
        ("ApiUrl", "https://abc123.execute-api.eu-west-1.amazonaws.com"),
    ];
    for (key, _) in outputs {
        assert!(t.output(key, &p).is_some(), "the template outputs {key}");
    }
    let describe = serde_json::json!({"Stacks": [{
        "Outputs": outputs.map(|(k, v)| serde_json::json!({"OutputKey": k, "OutputValue": v})),
        "Parameters": [{"ParameterKey": "MfaConfiguration", "ParameterValue": "ON"},
                       {"ParameterKey": "SignUpEnabled", "ParameterValue": "true"}],
    }]});
    let dir = std::env::temp_dir().join(format!("amplify-outputs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("stack.json"), describe.to_string()).unwrap();
    let root = hms_e2e::workspace_root();
    let ran = std::process::Command::new("python3")
        .arg(root.join("scripts/amplify-outputs.py"))
        .args(["--describe", "stack.json", "--out", "amplify_outputs.json"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(ran.status.success(), "{}", String::from_utf8_lossy(&ran.stderr));
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("amplify_outputs.json")).unwrap()).unwrap();
    let auth = &config["auth"];
    assert_eq!(
        (auth["aws_region"].as_str(), auth["user_pool_id"].as_str(), auth["user_pool_client_id"].as_str()),
        (Some("eu-west-1"), Some("eu-west-1_AbCdEf123"), Some("1example23456789"))
    );
    assert_eq!(config["custom"]["api_url"], outputs[3].1);
    assert_eq!(
        (auth["mfa_configuration"].as_str(), config["custom"]["sign_up_enabled"].as_bool()),
        (Some("REQUIRED"), Some(true))
    );
    let policy = |k: &str| t.property("UserPool", &format!("Policies/PasswordPolicy/{k}"), &p);
    let number = |v: Value| v.as_u64().unwrap();
    let flag = |v: Value| v.as_bool().unwrap();
    assert_eq!(auth["password_policy"]["min_length"].as_u64(), Some(number(policy("MinimumLength"))));
    for (json_key, cfn_key) in [
        ("require_lowercase", "RequireLowercase"),
        ("require_uppercase", "RequireUppercase"),
        ("require_numbers", "RequireNumbers"),
        ("require_symbols", "RequireSymbols"),
    ] {
        assert_eq!(auth["password_policy"][json_key].as_bool(), Some(flag(policy(cfn_key))), "{json_key}");
    }
    assert_eq!(t.property("UserPool", "UsernameAttributes", &p), Value::Sequence(vec![text("email")]));
    assert_eq!(auth["username_attributes"], serde_json::json!(["email"]));
    std::fs::remove_dir_all(&dir).ok();
}
