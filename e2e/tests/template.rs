//! template.yaml keeps least privilege, fails closed (a deploy with the defaults has the JWT
//! authorizer on every route, or is refused; openness is the explicit `AllowOpenApi=true`), and
//! answers CORS preflights without credentials. The checker lists problems; the real template
//! must have none, and mutated templates must be caught (so the checker cannot pass by accident).

use serde_yaml_ng::Value;

const TEMPLATE: &str = include_str!("../../template.yaml");
// What scripts/run.sh's front door routes locally must be what the template deploys.
const PATHS: [&str; 33] = local_api::ROUTES;
const BINARIES: [&str; 7] = {
    let f = local_api::FUNCTIONS;
    let i = hms_test_support::binaries::INVOKED;
    [f[0], f[1], f[2], f[3], f[4], i[0], i[1]]
};
/// The routes without the JWT authorizer: the webhook (100ms cannot present a JWT; its own
/// authorizer checks the secret header, and the function again) and the attendance page (a browser's navigation carries no token,
/// and the page holds no data: its script calls the guarded routes with the host's token).
const OPEN_PATHS: [&str; 2] = ["/webhooks/100ms", "/attendance"];
/// What each function may do on the events table, exactly (a function not listed: nothing): each
/// statement's actions and the partition-key prefixes (`dynamodb:LeadingKeys`) it is bound to.
type TableStatement = (&'static [&'static str], &'static [&'static str]);
const TABLE_ACTIONS: &[(&str, &[TableStatement])] = &[
    (
        "webhooks",
        &[(
            &[
                "dynamodb:PutItem",
                "dynamodb:GetItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:BatchWriteItem",
            ],
            &["SESSION#", "EVENT#", "ROOM#", "BUILD#"],
        )],
    ),
    (
        "reconcile",
        &[(
            &["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            &["SESSION#", "EVENT#", "ROOM#", "BUILD#", "RECONCILE"],
        )],
    ),
    (
        "session-analytics",
        &[
            (&["dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"], &["ROOM#", "SESSION#"]),
            (&["dynamodb:GetItem"], &["OWNER#"]),
        ],
    ),
    ("create-room", &[(&["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:UpdateItem"], &["OWNER#", "NAME#"])]),
    ("auth-token", &[(&["dynamodb:BatchGetItem"], &["OWNER#", "MEMBERS#"])]),
    (
        "room-control",
        &[(
            &[
                "dynamodb:GetItem",
                "dynamodb:BatchGetItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Query",
            ],
            &["OWNER#", "MEMBERS#"],
        )],
    ),
];

/// The functions that write the rooms' rules (owners, access, members, bans): no other function
/// holds a write on their partitions.
const RULE_WRITERS: [&str; 2] = ["create-room", "room-control"];

/// The store's key prefixes are the template's: each prefix granted is one the store uses, and
/// the rooms' rules are apart from the events and reports.
#[test]
fn the_granted_prefixes_are_the_stores() {
    use hms_shared::store::{EVENT_KEY_PREFIXES, RECONCILE_PK, ROOM_RULES_KEY_PREFIXES};
    for (function, statements) in TABLE_ACTIONS {
        for (actions, prefixes) in *statements {
            for p in *prefixes {
                let known = EVENT_KEY_PREFIXES.contains(p) || ROOM_RULES_KEY_PREFIXES.contains(p) || *p == RECONCILE_PK;
                assert!(known, "{function}: {p}");
                assert!(*p != RECONCILE_PK || *function == "reconcile", "only reconcile keeps its checkpoint");
            }
            let writes =
                actions.iter().any(|a| !["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"].contains(a));
            if writes && !RULE_WRITERS.contains(function) {
                assert!(
                    !prefixes.iter().any(|p| ROOM_RULES_KEY_PREFIXES.contains(p)),
                    "{function} writes rooms' rules"
                );
            }
        }
    }
    assert!(EVENT_KEY_PREFIXES.iter().all(|p| !ROOM_RULES_KEY_PREFIXES.contains(p)));
}

/// `!Tag value` as ("!Tag", value).
fn tagged(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((t.tag.to_string(), &t.value)),
        _ => None,
    }
}

fn is_ref(v: &Value, name: &str) -> bool {
    tagged(v).is_some_and(|(tag, inner)| tag == "!Ref" && inner.as_str() == Some(name))
}

/// `!If [cond, a, b]` as (cond, a, b).
fn is_if(v: &Value) -> Option<(&str, &Value, &Value)> {
    let (tag, inner) = tagged(v)?;
    let items = inner.as_sequence()?;
    (tag == "!If" && items.len() == 3).then(|| (items[0].as_str().unwrap_or(""), &items[1], &items[2]))
}

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_mapping()?.get(key)
}

/// The secret each function reads, and only that one: the app secret, or for `webhooks` the
/// webhook secret (it never reads the app secret).
fn secret_of(binary: &str) -> &'static str {
    if matches!(binary, "webhooks" | "webhook-authorizer") { "WebhookSecretArn" } else { "HmsSecretArn" }
}

/// A `GetSecretValue` statement, on which secret parameter.
fn secret_read(stmt: &Value) -> Option<&'static str> {
    let keys = stmt.as_mapping().map_or(0, |m| m.len());
    let plain = keys == 3
        && get(stmt, "Effect").and_then(Value::as_str) == Some("Allow")
        && get(stmt, "Action").and_then(Value::as_str) == Some("secretsmanager:GetSecretValue");
    let resource = get(stmt, "Resource")?;
    ["HmsSecretArn", "WebhookSecretArn"].into_iter().find(|p| plain && is_ref(resource, p))
}

fn is_secret_read(stmt: &Value) -> bool {
    secret_read(stmt).is_some()
}

/// The actions of a statement `Allow <actions> on the events table`, if it is one.
/// A statement on the events table as (actions, LeadingKeys prefixes): `Allow`, the table's ARN,
/// and a `ForAllValues:StringLike` condition on `dynamodb:LeadingKeys` and nothing else.
fn table_actions(stmt: &Value) -> Option<(Vec<String>, Vec<String>)> {
    let keys = stmt.as_mapping().map_or(0, |m| m.len());
    let on_table = get(stmt, "Resource")
        .and_then(tagged)
        .is_some_and(|(tag, v)| tag == "!GetAtt" && v.as_str() == Some("EventsTable.Arn"));
    if keys != 4 || get(stmt, "Effect").and_then(Value::as_str) != Some("Allow") || !on_table {
        return None;
    }
    let condition = get(stmt, "Condition")?;
    let like = get(condition, "ForAllValues:StringLike")?;
    if condition.as_mapping()?.len() != 1 || like.as_mapping()?.len() != 1 {
        return None;
    }
    let prefixes = get(like, "dynamodb:LeadingKeys")?
        .as_sequence()?
        .iter()
        .map(|p| p.as_str().and_then(|p| p.strip_suffix('*')).filter(|p| !p.contains('*')).map(str::to_string))
        .collect::<Option<Vec<_>>>()?;
    let actions = match get(stmt, "Action")? {
        Value::String(one) => vec![one.clone()],
        many => many.as_sequence()?.iter().map(|a| a.as_str().map(str::to_string)).collect::<Option<_>>()?,
    };
    Some((actions, prefixes))
}

fn is_optional_kms(stmt: &Value) -> bool {
    let Some((cond, then, otherwise)) = is_if(stmt) else { return false };
    cond == "HasKmsKey"
        && is_ref(otherwise, "AWS::NoValue")
        && then.as_mapping().map_or(0, |m| m.len()) == 4
        && get(then, "Effect").and_then(Value::as_str) == Some("Allow")
        && get(then, "Action").and_then(Value::as_str) == Some("kms:Decrypt")
        && get(then, "Resource").is_some_and(|r| is_ref(r, "KmsKeyArn"))
        // Decrypting only on Secrets Manager's behalf.
        && get(then, "Condition")
            .and_then(|c| get(c, "StringEquals"))
            .filter(|e| e.as_mapping().map_or(0, |m| m.len()) == 1)
            .and_then(|e| get(e, "kms:ViaService"))
            .and_then(tagged)
            .is_some_and(|(tag, v)| tag == "!Sub" && v.as_str() == Some("secretsmanager.${AWS::Region}.amazonaws.com"))
}

/// Every way the template can be wider or more open than intended.
fn problems(template: &str) -> Vec<String> {
    let doc: Value = serde_yaml_ng::from_str(template).expect("template.yaml parses");
    let mut out = Vec::new();
    let resources = get(&doc, "Resources").and_then(Value::as_mapping).expect("Resources");
    let mut functions = Vec::new();
    let mut routes = Vec::new();
    let mut preflights = Vec::new();
    for (name, res) in resources {
        let name = name.as_str().unwrap_or("?").to_string();
        let kind = get(res, "Type").and_then(Value::as_str).unwrap_or("");
        let props = get(res, "Properties");
        match kind {
            "AWS::Serverless::Function" => {
                let binary =
                    get(res, "Metadata").and_then(|m| get(m, "BuildProperties")).and_then(|b| get(b, "Binary"));
                let binary = binary.and_then(Value::as_str).unwrap_or("").to_string();
                functions.push(binary.clone());
                if get(res, "Metadata").and_then(|m| get(m, "BuildMethod")).and_then(Value::as_str)
                    != Some("rust-cargolambda")
                {
                    out.push(format!("{name}: not built with rust-cargolambda"));
                }
                if props.and_then(|p| get(p, "Role")).is_some() {
                    out.push(format!("{name}: has its own Role (bypasses the checked policy)"));
                }
                let policies = props.and_then(|p| get(p, "Policies")).and_then(Value::as_sequence);
                let Some([only]) = policies.map(Vec::as_slice) else {
                    out.push(format!("{name}: must have exactly one inline policy"));
                    continue;
                };
                if only.as_mapping().map_or(0, |m| m.len()) != 1 {
                    out.push(format!("{name}: its policy must be a bare Statement list"));
                }
                let statements = get(only, "Statement").and_then(Value::as_sequence).cloned().unwrap_or_default();
                let reads: Vec<&str> = statements.iter().filter_map(secret_read).collect();
                if reads != [secret_of(&binary)] {
                    out.push(format!("{name}: needs exactly one GetSecretValue, on {}: {reads:?}", secret_of(&binary)));
                }
                let sorted = |mut v: Vec<String>| {
                    v.sort();
                    v
                };
                let mut want: Vec<(Vec<String>, Vec<String>)> = TABLE_ACTIONS
                    .iter()
                    .find(|(b, _)| *b == binary)
                    .map(|(_, stmts)| {
                        stmts
                            .iter()
                            .map(|(a, p)| {
                                (
                                    sorted(a.iter().map(|x| x.to_string()).collect()),
                                    sorted(p.iter().map(|x| x.to_string()).collect()),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let mut on_table = Vec::new();
                for s in &statements {
                    match table_actions(s) {
                        Some((actions, prefixes)) => on_table.push((sorted(actions), sorted(prefixes))),
                        None if !is_secret_read(s) && !is_optional_kms(s) => {
                            out.push(format!("{name}: statement wider than its secret and table actions: {s:?}"))
                        }
                        None => {}
                    }
                }
                on_table.sort();
                want.sort();
                if on_table != want {
                    out.push(format!("{name}: table statements {on_table:?}, expected exactly {want:?}"));
                }
            }
            "AWS::ApiGatewayV2::Route" => {
                let p = props.expect("route properties");
                let key = get(p, "RouteKey").and_then(Value::as_str).unwrap_or("").to_string();
                let (method, path) = key.split_once(' ').map(|(m, p)| (m, p.to_string())).unwrap_or_default();
                if method == "OPTIONS" {
                    // A preflight carries no token: no authorizer, and only where one is in front.
                    preflights.push(path);
                    if get(p, "AuthorizationType").and_then(Value::as_str) != Some("NONE")
                        || get(p, "AuthorizerId").is_some()
                        || get(res, "Condition").and_then(Value::as_str) != Some("HasPreflight")
                    {
                        out.push(format!("{name}: a preflight route is NONE, without authorizer, when HasPreflight"));
                    }
                    continue;
                }
                if method != "ANY" {
                    out.push(format!("{name}: {key}: routes are ANY (the function answers a wrong method)"));
                }
                routes.push(path.clone());
                if path == "/webhooks/100ms" {
                    // The secret header's authorizer, always: API Gateway refuses a request without it.
                    if get(p, "AuthorizationType").and_then(Value::as_str) != Some("CUSTOM")
                        || !get(p, "AuthorizerId").is_some_and(|a| is_ref(a, "WebhookAuthorizer"))
                    {
                        out.push(format!("{name}: {path} is behind WebhookAuthorizer (CUSTOM)"));
                    }
                    continue;
                }
                if OPEN_PATHS.contains(&path.as_str()) {
                    if get(p, "AuthorizationType").and_then(Value::as_str) != Some("NONE")
                        || get(p, "AuthorizerId").is_some()
                    {
                        out.push(format!("{name}: {path} takes no JWT (its caller cannot send one)"));
                    }
                    continue;
                }
                let auth_type = get(p, "AuthorizationType").and_then(is_if);
                let auth_ok = auth_type.is_some_and(|(c, a, b)| {
                    c == "HasJwtAuth" && a.as_str() == Some("JWT") && b.as_str() == Some("NONE")
                });
                let id_ok = get(p, "AuthorizerId").and_then(is_if).is_some_and(|(c, a, b)| {
                    c == "HasJwtAuth" && is_ref(a, "JwtAuthorizer") && is_ref(b, "AWS::NoValue")
                });
                if !auth_ok || !id_ok {
                    out.push(format!("{name} ({key}): lacks the JWT authorizer whenever callers sign in"));
                }
            }
            "AWS::ApiGatewayV2::Authorizer" if name == "WebhookAuthorizer" => {
                let p = props.expect("authorizer properties");
                let source = get(p, "IdentitySource").and_then(Value::as_sequence).map(Vec::as_slice);
                let header_only = matches!(source, Some([one]) if tagged(one).is_some_and(|(t, v)| t == "!Sub"
                    && v.as_str() == Some("$request.header.${WebhookHeaderName}")));
                let uri = get(p, "AuthorizerUri").and_then(tagged).and_then(|(_, v)| v.as_str().map(str::to_string));
                if get(p, "AuthorizerType").and_then(Value::as_str) != Some("REQUEST")
                    || !header_only
                    || !uri.is_some_and(|u| u.contains("${WebhookAuthorizerFunction.Arn}"))
                    || get(p, "AuthorizerResultTtlInSeconds").and_then(Value::as_u64).is_none_or(|t| t == 0)
                    || get(res, "Condition").is_some()
                {
                    out.push(format!(
                        "{name}: a REQUEST authorizer on the secret header, by webhook-authorizer, cached, always"
                    ));
                }
            }
            "AWS::ApiGatewayV2::Authorizer" => {
                let p = props.expect("authorizer properties");
                let jwt = get(p, "JwtConfiguration");
                // The stack's own user pool's, or the issuer and audience a deploy names.
                let issuer_ok = jwt.and_then(|j| get(j, "Issuer")).and_then(is_if).is_some_and(|(c, own, named)| {
                    c == "CreatesUserPool"
                        && tagged(own)
                            .is_some_and(|(t, v)| t == "!Sub" && v.as_str() == Some("https://${UserPool.ProviderURL}"))
                        && is_ref(named, "JwtIssuer")
                });
                let audience_ok = jwt.and_then(|j| get(j, "Audience")).and_then(Value::as_sequence).is_some_and(|a| {
                    a.len() == 1
                        && is_if(&a[0]).is_some_and(|(c, own, named)| {
                            c == "CreatesUserPool" && is_ref(own, "UserPoolClient") && is_ref(named, "JwtAudience")
                        })
                });
                if get(p, "AuthorizerType").and_then(Value::as_str) != Some("JWT") || !issuer_ok || !audience_ok {
                    out.push(format!("{name}: not a JWT authorizer on the stack's user pool or JwtIssuer/JwtAudience"));
                }
                if get(res, "Condition").and_then(Value::as_str) != Some("HasJwtAuth") {
                    out.push(format!("{name}: must exist exactly when HasJwtAuth"));
                }
            }
            k if k.starts_with("AWS::IAM::") => {
                out.push(format!("{name}: an IAM resource ({k}) outside the checked policies"))
            }
            _ => {}
        }
    }
    let mut functions_sorted = functions.clone();
    functions_sorted.sort();
    let mut expected: Vec<String> = BINARIES.iter().map(|s| s.to_string()).collect();
    expected.sort();
    if functions_sorted != expected {
        out.push(format!("functions build {functions:?}, expected {BINARIES:?}"));
    }
    routes.sort();
    let mut want: Vec<String> = PATHS.iter().map(|s| s.to_string()).collect();
    want.sort();
    if routes != want {
        out.push(format!("routes are {routes:?}, expected {want:?}"));
    }
    preflights.sort();
    want.retain(|p| !OPEN_PATHS.contains(&p.as_str()));
    if preflights != want {
        out.push(format!("preflight routes are {preflights:?}, expected one per authorized path {want:?}"));
    }
    out.extend(fail_closed(&doc));
    let globals = get(&doc, "Globals").and_then(|g| get(g, "Function")).expect("Globals.Function");
    if get(globals, "Runtime").and_then(Value::as_str) != Some("provided.al2023")
        || get(globals, "Architectures").and_then(Value::as_sequence).map(|a| a.len()) != Some(1)
        || get(globals, "Architectures").and_then(|a| a.get(0)).and_then(Value::as_str) != Some("arm64")
        || get(globals, "MemorySize").and_then(Value::as_u64) != Some(128)
    {
        out.push("Globals: functions must be provided.al2023, arm64, 128 MB".into());
    }
    out
}

/// The defaults give the JWT authorizer (HasJwtAuth holds unless `AllowOpenApi` is "true", which
/// is not the default), and a deploy that does not name the admin claim is refused by a rule, as
/// is an open API that names claims it would never check. Who issues the tokens (the stack's own
/// user pool, or the issuer a deploy names) is tests/template_sign_in.rs's.
fn fail_closed(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let param = |name: &str| get(doc, "Parameters").and_then(|p| get(p, name));
    if param("AllowOpenApi").and_then(|p| get(p, "Default")).and_then(Value::as_str) != Some("false") {
        out.push("AllowOpenApi must default to \"false\"".into());
    }
    let cond = get(doc, "Conditions").and_then(|c| get(c, "HasJwtAuth")).and_then(tagged);
    let cond_ok = cond.is_some_and(|(tag, v)| {
        let items = v.as_sequence().map(Vec::as_slice).unwrap_or_default();
        tag == "!Equals" && items.len() == 2 && is_ref(&items[0], "AllowOpenApi") && items[1].as_str() == Some("false")
    });
    if !cond_ok {
        out.push("HasJwtAuth must be exactly: AllowOpenApi is \"false\"".into());
    }
    let rule = get(doc, "Rules").and_then(|r| get(r, "JwtUnlessExplicitlyOpen"));
    let rule_when = rule.and_then(|r| get(r, "RuleCondition")).map(|c| format!("{c:?}")).unwrap_or_default();
    let asserted: Vec<String> = rule
        .and_then(|r| get(r, "Assertions"))
        .and_then(Value::as_sequence)
        .map(|a| a.iter().map(|x| format!("{:?}", get(x, "Assert"))).collect())
        .unwrap_or_default();
    let checked = asserted.iter().any(|a| a.contains("!Not") && a.contains("\"AdminClaimName\""));
    if !rule_when.contains("AllowOpenApi") || !checked {
        out.push("a deploy without AdminClaimName must be refused unless AllowOpenApi=true".into());
    }
    let env = get(doc, "Globals").and_then(|g| get(g, "Function")).and_then(|f| get(f, "Environment"));
    let vars = env.and_then(|e| get(e, "Variables"));
    let by_jwt =
        |name: &str| vars.and_then(|v| get(v, name)).and_then(is_if).is_some_and(|(c, _, _)| c == "HasJwtAuth");
    for name in ["CALLER_AUTH", "ADMIN_CLAIM_NAME", "ADMIN_CLAIM_VALUE", "CREATOR_CLAIM", "ROLE_CLAIMS"] {
        if !by_jwt(name) {
            out.push(format!("Globals: {name} must follow HasJwtAuth"));
        }
    }
    out
}

/// `cargo lambda watch`'s router (Cargo.toml) sends each of the API's paths to the function that
/// serves it in the template (local-api's `function_of`), and no other path.
#[test]
fn the_local_router_serves_every_route_with_its_function() {
    let manifest = include_str!("../../Cargo.toml");
    let section = manifest.split("[workspace.metadata.lambda.watch.router]").nth(1).expect("the router section");
    let mut routed: Vec<(String, String)> = section
        .lines()
        .take_while(|l| !l.starts_with('['))
        .filter_map(|l| l.split_once(" = "))
        .map(|(path, f)| (path.trim_matches('"').to_string(), f.trim_matches('"').to_string()))
        .collect();
    routed.sort();
    let mut want: Vec<(String, String)> = PATHS
        .iter()
        .map(|p| (p.to_string(), local_api::authorizer::function_of(p).expect("a function").to_string()))
        .collect();
    want.sort();
    assert_eq!(routed, want);
}

#[test]
fn the_template_is_least_privilege_and_fully_authorized() {
    let found = problems(TEMPLATE);
    assert!(found.is_empty(), "template.yaml problems:\n{}", found.join("\n"));
}

#[test]
fn the_checker_catches_wider_policies_and_open_routes() {
    let secret_stmt = "Action: secretsmanager:GetSecretValue\n              Resource: !Ref HmsSecretArn";
    assert!(TEMPLATE.contains(secret_stmt), "the mutations below start from the real template");
    let route_auth = "AuthorizationType: !If [HasJwtAuth, JWT, NONE]";
    let mutations = [
        ("any secret", TEMPLATE.replacen(secret_stmt, "Action: secretsmanager:GetSecretValue\n              Resource: \"*\"", 1)),
        ("more actions", TEMPLATE.replacen(secret_stmt, "Action: secretsmanager:*\n              Resource: !Ref HmsSecretArn", 1)),
        (
            "an extra statement",
            TEMPLATE.replacen(
                secret_stmt,
                &format!("{secret_stmt}\n            - Effect: Allow\n              Action: s3:GetObject\n              Resource: \"*\""),
                1,
            ),
        ),
        ("kms unconditional", TEMPLATE.replacen("- HasKmsKey", "- XRayOn", 1)),
        ("a route without the authorizer", TEMPLATE.replacen(route_auth, "AuthorizationType: NONE", 1)),
        ("authorizer always off", TEMPLATE.replacen(route_auth, "AuthorizationType: !If [HasJwtAuth, NONE, NONE]", 1)),
        ("a managed policy", TEMPLATE.replacen("      Policies:\n", "      Policies:\n        - AWSLambdaBasicExecutionRole\n", 1)),
        ("a missing route", TEMPLATE.replacen("RouteKey: ANY /session-list-by-room", "RouteKey: ANY /other", 1)),
        ("x86", TEMPLATE.replacen("Architectures: [arm64]", "Architectures: [x86_64]", 1)),
        ("a wider table action", TEMPLATE.replacen("- dynamodb:PutItem", "- dynamodb:*", 1)),
        ("a table action too many", TEMPLATE.replacen("- dynamodb:GetItem", "- dynamodb:GetItem\n                - dynamodb:DeleteItem", 1)),
        ("a table action too few", TEMPLATE.replacen("                - dynamodb:GetItem\n", "", 1)),
        ("any table", TEMPLATE.replacen("Resource: !GetAtt EventsTable.Arn", "Resource: \"*\"", 1)),
        ("any key", TEMPLATE.replacen("                    - \"OWNER#*\"\n", "                    - \"*\"\n", 1)),
        ("webhooks on owners", TEMPLATE.replacen("                    - \"ROOM#*\"\n", "                    - \"ROOM#*\"\n                    - \"OWNER#*\"\n", 1)),
        ("no key condition", TEMPLATE.replacen("ForAllValues:StringLike:", "ForAnyValue:StringLike:", 1)),
        ("open by default", TEMPLATE.replacen("    Default: \"false\"\n    AllowedValues: [\"true\", \"false\"]\n    Description: >-\n      DANGER", "    Default: \"true\"\n    AllowedValues: [\"true\", \"false\"]\n    Description: >-\n      DANGER", 1)),
        ("jwt on the issuer only", TEMPLATE.replacen("HasJwtAuth: !Equals [!Ref AllowOpenApi, \"false\"]", "HasJwtAuth: !Not [!Equals [!Ref JwtIssuer, \"\"]]", 1)),
        ("no admin claim required", TEMPLATE.replacen("[!Ref AdminClaimName, \"\"]]\n        AssertDescription", "[!Ref AdminClaimValue, \"\"]]\n        AssertDescription", 1)),
        ("kms for anything", TEMPLATE.replacen("kms:ViaService: !Sub \"secretsmanager.", "kms:ViaService: !Sub \"s3.", 1)),
        ("a preflight behind the authorizer", TEMPLATE.replacen("RouteKey: OPTIONS /auth-token, Target: !Sub \"integrations/${AuthTokenIntegration}\", AuthorizationType: NONE", "RouteKey: OPTIONS /auth-token, Target: !Sub \"integrations/${AuthTokenIntegration}\", AuthorizationType: JWT", 1)),
        ("a missing preflight", TEMPLATE.replacen("RouteKey: OPTIONS /recordings,", "RouteKey: OPTIONS /recordingz,", 1)),
        ("webhooks reads the app secret", TEMPLATE.replacen("Resource: !Ref WebhookSecretArn", "Resource: !Ref HmsSecretArn", 1)),
        ("the webhook route open", TEMPLATE.replacen("AuthorizationType: CUSTOM", "AuthorizationType: NONE", 1)),
        ("the webhook authorizer on another header", TEMPLATE.replacen("$request.header.${WebhookHeaderName}", "$request.header.x-other", 1)),
        ("the webhook authorizer uncached", TEMPLATE.replacen("AuthorizerResultTtlInSeconds: 300", "AuthorizerResultTtlInSeconds: 0", 1)),
        ("preflights without CORS", TEMPLATE.replacen("    Condition: HasPreflight\n", "    Condition: HasJwtAuth\n", 1)),
        ("the authorizer reads the app secret", TEMPLATE.replacen("          WEBHOOK_SECRET_ID: !Ref WebhookSecretArn\n          WEBHOOK_HEADER_NAME: !Ref WebhookHeaderName\n          WEBHOOK_ALLOWED_IPS: !Ref WebhookAllowedIps\n      Policies:\n        - Statement:\n            - Effect: Allow\n              Action: secretsmanager:GetSecretValue\n              Resource: !Ref WebhookSecretArn", "          WEBHOOK_SECRET_ID: !Ref WebhookSecretArn\n          WEBHOOK_HEADER_NAME: !Ref WebhookHeaderName\n          WEBHOOK_ALLOWED_IPS: !Ref WebhookAllowedIps\n      Policies:\n        - Statement:\n            - Effect: Allow\n              Action: secretsmanager:GetSecretValue\n              Resource: !Ref HmsSecretArn", 1)),
        ("reconcile on owners", TEMPLATE.replacen("                    - \"RECONCILE*\"\n", "                    - \"RECONCILE*\"\n                    - \"OWNER#*\"\n", 1)),
        ("role claims when open", TEMPLATE.replacen("        ROLE_CLAIMS: !If [HasJwtAuth, !If [PoolRoleClaims, \"host=cognito:groups=teachers\", !Ref RoleClaims], \"\"]", "        ROLE_CLAIMS: !Ref RoleClaims", 1)),
    ];
    for (what, mutated) in mutations {
        assert_ne!(mutated, TEMPLATE, "{what}: the mutation did not apply");
        assert!(!problems(&mutated).is_empty(), "{what}: not caught");
    }
}
