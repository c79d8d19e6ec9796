//! template.yaml as CloudFormation would read it for a set of parameter values: which rules
//! refuse the deploy, which conditions hold, which resources it creates, and what a property
//! resolves to. Only what the template uses: `Ref` (a parameter's value; a resource as
//! `Ref:<name>`, a pseudo parameter as its name), `If`, `Equals`, `Not`, `And`, `Or`,
//! `Condition`, `Join`, and `Sub` kept as its text (`Sub:<text>`).

use std::collections::BTreeMap;

use serde_yaml_ng::Value;

/// Parameter values by name.
pub type Params = BTreeMap<String, String>;

pub struct Template {
    doc: Value,
}

impl Template {
    pub fn parse(text: &str) -> Self {
        Self { doc: serde_yaml_ng::from_str(text).expect("the template parses") }
    }

    fn section(&self, name: &str) -> Option<&serde_yaml_ng::Mapping> {
        self.doc.as_mapping()?.get(name)?.as_mapping()
    }

    /// The parameters' defaults (a parameter without one: empty), with `overrides` applied.
    pub fn params(&self, overrides: &[(&str, &str)]) -> Params {
        let mut p: Params = self
            .section("Parameters")
            .into_iter()
            .flatten()
            .map(|(k, v)| {
                let default = get(v, "Default").map(scalar_text).unwrap_or_default();
                (k.as_str().unwrap_or_default().to_string(), default)
            })
            .collect();
        for (k, v) in overrides {
            assert!(p.contains_key(*k), "no parameter {k}");
            p.insert(k.to_string(), v.to_string());
        }
        p
    }

    /// The template's value at `path` (keys, `/`-separated), unresolved.
    pub fn raw(&self, path: &str) -> Option<&Value> {
        path.split('/').try_fold(&self.doc, |v, key| get(v, key))
    }

    /// Whether condition `name` holds.
    pub fn condition(&self, name: &str, p: &Params) -> bool {
        let c = self.section("Conditions").and_then(|c| c.get(name)).unwrap_or_else(|| panic!("no condition {name}"));
        self.truth(c, p)
    }

    /// The `AssertDescription`s of the rules' assertions that fail: empty when CloudFormation
    /// would take the deploy.
    pub fn refusals(&self, p: &Params) -> Vec<String> {
        let mut out = Vec::new();
        for (name, rule) in self.section("Rules").into_iter().flatten() {
            if get(rule, "RuleCondition").is_some_and(|c| !self.truth(c, p)) {
                continue;
            }
            for a in get(rule, "Assertions").and_then(Value::as_sequence).into_iter().flatten() {
                if !self.truth(get(a, "Assert").expect("an Assert"), p) {
                    let why = get(a, "AssertDescription").and_then(Value::as_str).unwrap_or_default();
                    out.push(format!("{}: {why}", name.as_str().unwrap_or_default()));
                }
            }
        }
        out
    }

    /// The resources a deploy creates, by logical name, with their types.
    pub fn created(&self, p: &Params) -> BTreeMap<String, String> {
        self.section("Resources")
            .into_iter()
            .flatten()
            .filter(|(_, r)| get(r, "Condition").and_then(Value::as_str).is_none_or(|c| self.condition(c, p)))
            .map(|(k, r)| {
                let kind = get(r, "Type").and_then(Value::as_str).unwrap_or_default();
                (k.as_str().unwrap_or_default().to_string(), kind.to_string())
            })
            .collect()
    }

    /// The resource `name`'s property at `path` (keys, `/`-separated), resolved.
    pub fn property(&self, name: &str, path: &str, p: &Params) -> Value {
        let mut v = self.section("Resources").and_then(|r| r.get(name)).unwrap_or_else(|| panic!("no resource {name}"));
        for key in ["Properties"].into_iter().chain(path.split('/')) {
            v = get(v, key).unwrap_or_else(|| panic!("{name}: no {path}"));
        }
        self.resolve(v, p)
    }

    /// An output's value, resolved, when its condition holds.
    pub fn output(&self, name: &str, p: &Params) -> Option<Value> {
        let o = self.section("Outputs")?.get(name)?;
        if get(o, "Condition").and_then(Value::as_str).is_some_and(|c| !self.condition(c, p)) {
            return None;
        }
        Some(self.resolve(get(o, "Value")?, p))
    }

    /// `v` with its intrinsic functions evaluated (`AWS::NoValue` as null).
    pub fn resolve(&self, v: &Value, p: &Params) -> Value {
        match v {
            Value::Tagged(t) => {
                let inner = &t.value;
                match t.tag.to_string().as_str() {
                    "!Ref" => {
                        let name = inner.as_str().unwrap_or_default();
                        match p.get(name) {
                            Some(value) if self.is_list_param(name) => {
                                Value::Sequence(value.split(',').map(|s| Value::String(s.to_string())).collect())
                            }
                            Some(value) => Value::String(value.clone()),
                            None if name == "AWS::NoValue" => Value::Null,
                            None if name.starts_with("AWS::") => Value::String(name.to_string()),
                            None => Value::String(format!("Ref:{name}")),
                        }
                    }
                    "!If" => {
                        let items = inner.as_sequence().expect("!If [cond, a, b]");
                        let cond = items[0].as_str().expect("a condition name");
                        self.resolve(if self.condition(cond, p) { &items[1] } else { &items[2] }, p)
                    }
                    "!Sub" => Value::String(format!("Sub:{}", inner.as_str().unwrap_or_default())),
                    "!Join" => {
                        let items = inner.as_sequence().expect("!Join [sep, list]");
                        let sep = items[0].as_str().unwrap_or_default();
                        let list = self.resolve(&items[1], p);
                        let parts: Vec<String> = list.as_sequence().into_iter().flatten().map(scalar_text).collect();
                        Value::String(parts.join(sep))
                    }
                    _ => v.clone(),
                }
            }
            Value::Sequence(items) => {
                Value::Sequence(items.iter().map(|i| self.resolve(i, p)).filter(|i| !i.is_null()).collect())
            }
            Value::Mapping(m) => Value::Mapping(
                m.iter().map(|(k, x)| (k.clone(), self.resolve(x, p))).filter(|(_, x)| !x.is_null()).collect(),
            ),
            other => other.clone(),
        }
    }

    fn is_list_param(&self, name: &str) -> bool {
        self.section("Parameters")
            .and_then(|ps| ps.get(name))
            .and_then(|x| get(x, "Type"))
            .and_then(Value::as_str)
            .is_some_and(|t| t == "CommaDelimitedList")
    }

    /// A condition function's truth.
    fn truth(&self, v: &Value, p: &Params) -> bool {
        let Value::Tagged(t) = v else { panic!("not a condition function: {v:?}") };
        let items = || t.value.as_sequence().expect("a list of arguments");
        match t.tag.to_string().as_str() {
            "!Equals" => {
                let [a, b] = items().as_slice() else { panic!("!Equals takes two") };
                scalar_text(&self.resolve(a, p)) == scalar_text(&self.resolve(b, p))
            }
            "!Not" => !self.truth(&items()[0], p),
            "!And" => items().iter().all(|x| self.truth(x, p)),
            "!Or" => items().iter().any(|x| self.truth(x, p)),
            "!Condition" => self.condition(t.value.as_str().expect("a condition name"), p),
            other => panic!("not a condition function: {other}"),
        }
    }
}

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_mapping()?.get(key)
}

/// A scalar as CloudFormation compares it: as text.
fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = r#"
Parameters:
  Open: {Type: String, Default: "false"}
  Issuer: {Type: String, Default: ""}
  Origins: {Type: CommaDelimitedList, Default: ""}
Rules:
  NeedsIssuer:
    RuleCondition: !Equals [!Ref Open, "true"]
    Assertions:
      - Assert: !Equals [!Ref Issuer, ""]
        AssertDescription: no issuer when open
Conditions:
  Auth: !Equals [!Ref Open, "false"]
  Own: !And [!Condition Auth, !Equals [!Ref Issuer, ""]]
  Cors: !Not [!Equals [!Join ["", !Ref Origins], ""]]
Resources:
  Pool: {Type: "AWS::Cognito::UserPool", Condition: Own, Properties: {Name: x}}
  Authorizer:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties:
      Issuer: !If [Own, !Sub "https://${Pool.ProviderURL}", !Ref Issuer]
      Extra: !If [Cors, yes, !Ref AWS::NoValue]
"#;

    #[test]
    fn conditions_rules_and_resources_follow_the_parameters() {
        let t = Template::parse(T);
        let p = t.params(&[]);
        assert!(t.condition("Own", &p) && !t.condition("Cors", &p));
        assert_eq!(t.created(&p).len(), 2);
        assert_eq!(t.property("Authorizer", "Issuer", &p), Value::String("Sub:https://${Pool.ProviderURL}".into()));
        assert!(t.refusals(&p).is_empty());
        let p = t.params(&[("Issuer", "https://idp"), ("Origins", "https://a,https://b")]);
        assert!(!t.condition("Own", &p) && t.condition("Cors", &p));
        assert_eq!(t.created(&p).keys().collect::<Vec<_>>(), ["Authorizer"]);
        assert_eq!(t.property("Authorizer", "Issuer", &p), Value::String("https://idp".into()));
        let p = t.params(&[("Open", "true"), ("Issuer", "https://idp")]);
        assert_eq!(t.refusals(&p), ["NeedsIssuer: no issuer when open"]);
    }
}
