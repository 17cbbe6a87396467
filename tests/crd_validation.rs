//! What the API server would accept and refuse, checked offline against the CRDs generated
//! from the Rust types: structural schema (required, enum, pattern, bounds, types, unknown
//! fields) by `support::schema::check`, CEL rules (`x-kubernetes-validations`, including the
//! `self == oldSelf` transition rules on update) by kube-cel, with schema defaults applied
//! first.
//!
//! Each bad case is a valid base manifest plus a JSON merge patch (RFC 7386: `null` deletes),
//! so a row shows exactly what is wrong with it.

mod support;

use serde_json::Value;

use support::schema::check::{check, unsupported_keywords};
use support::schema::{all_crd_schemas, validate, yaml};

const INTEGRATION: &str = r#"
apiVersion: lastpass-operator.io/v1alpha1
kind: DirectoryIntegration
metadata: {name: acme}
spec:
  lastpass:
    credentialsSecretRef: {name: lastpass-api}
"#;

const USER: &str = r#"
apiVersion: lastpass-operator.io/v1alpha1
kind: LastPassUser
metadata: {name: jane}
spec:
  integrationRef: {name: acme}
  username: jane.doe@example.com
  fullName: Jane Doe
"#;

const GROUP: &str = r#"
apiVersion: lastpass-operator.io/v1alpha1
kind: LastPassGroup
metadata: {name: eng}
spec:
  integrationRef: {name: acme}
  groupName: Engineering
  members: [jane.doe@example.com]
"#;

/// One manifest the API server must refuse.
struct Bad {
    name: &'static str,
    why: &'static str,
    base: &'static str,
    /// Merge patch (YAML) applied to `base` to get the manifest under test.
    patch: &'static str,
    /// `true`: the patched manifest is an update of `base` (transition rules apply).
    update: bool,
    /// A fragment of one of the errors.
    want: &'static str,
}

const fn bad(
    name: &'static str,
    why: &'static str,
    base: &'static str,
    patch: &'static str,
    want: &'static str,
) -> Bad {
    Bad {
        name,
        why,
        base,
        patch,
        update: false,
        want,
    }
}

const fn bad_update(
    name: &'static str,
    why: &'static str,
    base: &'static str,
    patch: &'static str,
    want: &'static str,
) -> Bad {
    Bad {
        update: true,
        ..bad(name, why, base, patch, want)
    }
}

fn bad_cases() -> Vec<Bad> {
    vec![
        bad(
            "user-username-not-email",
            "LastPass usernames are e-mail addresses; the pattern catches a bare login name",
            USER,
            "spec: {username: jane.doe}",
            r#"spec.username: "jane.doe" does not match the pattern '^[^@\s]+@[^@\s]+\.[^@\s]+$'"#,
        ),
        bad_update(
            "user-username-changed",
            "a rename would orphan the LastPass account; it must be a new resource (CEL self == oldSelf)",
            USER,
            "spec: {username: jane.smith@example.com}",
            "spec.username is immutable; to rename a user, create a new LastPassUser and delete this one",
        ),
        bad_update(
            "group-name-changed",
            "renaming would leave the old LastPass group behind (CEL self == oldSelf)",
            GROUP,
            "spec: {groupName: Platform}",
            "spec.groupName is immutable; create a new LastPassGroup instead",
        ),
        bad(
            "integration-unmanaged-users-unknown",
            "unmanagedUsers is Ignore | Report | Adopt",
            INTEGRATION,
            "spec: {sync: {unmanagedUsers: Sometimes}}",
            r#"spec.sync.unmanagedUsers: Unsupported value: "Sometimes": supported values: "Ignore", "Report", "Adopt""#,
        ),
        bad(
            "group-policy-unknown",
            "policy is Authoritative | Additive",
            GROUP,
            "spec: {policy: Exclusive}",
            r#"spec.policy: Unsupported value: "Exclusive": supported values: "Authoritative", "Additive""#,
        ),
        bad(
            "user-deprovision-action-unknown",
            "deprovisionAction is Deactivate | RemoveFromCompany | Delete",
            USER,
            "spec: {deprovisionAction: Shred}",
            r#"spec.deprovisionAction: Unsupported value: "Shred": supported values: "Deactivate", "RemoveFromCompany", "Delete""#,
        ),
        bad(
            "integration-default-action-unknown",
            "the integration-wide default takes the same three actions",
            INTEGRATION,
            "spec: {sync: {deprovision: {defaultAction: Archive}}}",
            r#"spec.sync.deprovision.defaultAction: Unsupported value: "Archive""#,
        ),
        bad(
            "integration-max-per-sync-negative",
            "the deletion budget is a count; negative makes no sense",
            INTEGRATION,
            "spec: {sync: {deprovision: {maxPerSync: -1}}}",
            "spec.sync.deprovision.maxPerSync: -1 is less than the minimum 0",
        ),
        bad(
            "integration-credentials-missing",
            "without cid/provhash the account cannot be reached",
            INTEGRATION,
            "spec: {lastpass: {credentialsSecretRef: null}}",
            "spec.lastpass.credentialsSecretRef: Required value",
        ),
        bad(
            "integration-credentials-name-empty",
            "an empty Secret name can never resolve",
            INTEGRATION,
            r#"spec: {lastpass: {credentialsSecretRef: {name: ""}}}"#,
            r#"spec.lastpass.credentialsSecretRef.name: "" is shorter than the minimum length 1"#,
        ),
        bad(
            "user-integration-ref-missing",
            "a user must say which LastPass account it belongs to",
            USER,
            "spec: {integrationRef: null}",
            "spec.integrationRef: Required value",
        ),
        bad(
            "group-integration-ref-missing",
            "a group must say which LastPass account it belongs to",
            GROUP,
            "spec: {integrationRef: null}",
            "spec.integrationRef: Required value",
        ),
        bad(
            "integration-interval-words",
            "durations are Go-style strings (10m), not prose",
            INTEGRATION,
            "spec: {sync: {interval: 10 minutes}}",
            r#"spec.sync.interval: "10 minutes" does not match the pattern"#,
        ),
        bad(
            "integration-interval-too-short",
            "a full read-back more often than every minute hammers the API (CEL duration rule)",
            INTEGRATION,
            "spec: {sync: {interval: 30s}}",
            "spec.sync.interval must be at least 1m",
        ),
        bad(
            "integration-rate-limit-zero",
            "zero requests per second would stall the sync forever (CEL)",
            INTEGRATION,
            "spec: {sync: {rateLimit: {requestsPerSecond: 0}}}",
            "spec.sync.rateLimit.requestsPerSecond and burst must be positive",
        ),
        bad(
            "integration-burst-zero",
            "a bucket of size zero never lets a request through (CEL)",
            INTEGRATION,
            "spec: {sync: {rateLimit: {burst: 0}}}",
            "spec.sync.rateLimit.requestsPerSecond and burst must be positive",
        ),
        bad(
            "integration-ldap-without-base-dn",
            "an LDAP pull needs to know where to search (CEL)",
            INTEGRATION,
            "spec: {ldap: {url: 'ldaps://dc1.corp.example:636', bindSecretRef: {name: ad-bind}}}",
            "spec.ldap needs url, userBaseDN and bindSecretRef",
        ),
        bad(
            "integration-ldap-not-ldap-url",
            "only ldap:// (StartTLS) and ldaps:// are spoken",
            INTEGRATION,
            "spec: {ldap: {url: 'https://dc1.corp.example', bindSecretRef: {name: b}, userBaseDN: 'dc=x'}}",
            r#"spec.ldap.url: "https://dc1.corp.example" does not match the pattern '^ldaps?://'"#,
        ),
        bad(
            "integration-selector-missing",
            "from: Selector with no selector would match nothing, or everything (CEL)",
            INTEGRATION,
            "spec: {allowedNamespaces: {from: Selector}}",
            "spec.allowedNamespaces.selector is required when from is Selector",
        ),
        bad(
            "integration-batch-size-zero",
            "a batch of zero users never progresses",
            INTEGRATION,
            "spec: {sync: {batchSize: 0}}",
            "spec.sync.batchSize: 0 is less than the minimum 1",
        ),
        bad(
            "integration-batch-size-huge",
            "LastPass batch calls are capped; 2000 is the ceiling",
            INTEGRATION,
            "spec: {sync: {batchSize: 5000}}",
            "spec.sync.batchSize: 5000 is greater than the maximum 2000",
        ),
        bad(
            "integration-batch-size-string",
            "a quoted number is a string, not an integer",
            INTEGRATION,
            r#"spec: {sync: {batchSize: "100"}}"#,
            r#"spec.sync.batchSize: expected integer, got string "100""#,
        ),
        bad(
            "integration-endpoint-not-uri",
            "the endpoint is a URL (format: uri)",
            INTEGRATION,
            "spec: {lastpass: {endpoint: lastpass dot com}}",
            r#"spec.lastpass.endpoint: "lastpass dot com" is not a valid uri"#,
        ),
        bad(
            "integration-endpoint-plain-http",
            "the provisioning hash is in every request body: never in clear text off loopback (CEL)",
            INTEGRATION,
            "spec: {lastpass: {endpoint: 'http://lastpass.com/enterpriseapi.php'}}",
            lastpass_operator::crd::ENDPOINT_RULE_MESSAGE,
        ),
        bad(
            "group-member-not-email",
            "members are LastPass usernames, which are e-mails",
            GROUP,
            "spec: {members: [jane.doe@example.com, bob]}",
            r#"spec.members[1]: "bob" does not match the pattern"#,
        ),
        bad(
            "integration-field-typo",
            "dryrun (lower-case r) is not dryRun: the API server would drop it and sync for real",
            INTEGRATION,
            "spec: {sync: {dryrun: true}}",
            r#"spec.sync.dryrun: unknown field "dryrun""#,
        ),
        bad(
            "user-top-level-typo",
            "a misspelt spec is dropped whole, leaving a resource without its spec",
            USER,
            "spek: {username: x@y.z}",
            r#"spek: unknown field "spek""#,
        ),
    ]
}

/// RFC 7386 JSON merge patch: objects merge, `null` deletes, anything else replaces.
fn merge_patch(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (key, value) in p {
                if value.is_null() {
                    t.remove(key);
                } else {
                    merge_patch(t.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

fn patched(base: &str, patch: &str) -> Value {
    let mut object = yaml(base);
    merge_patch(&mut object, &yaml(patch));
    object
}

#[test]
fn bad_manifests_are_refused_with_a_precise_message() {
    let cases = bad_cases();
    assert!(cases.len() >= 14);
    let mut failures = Vec::new();
    for c in &cases {
        let object = patched(c.base, c.patch);
        let old = c.update.then(|| yaml(c.base));
        let errors = validate(&object, old.as_ref());
        if !errors.iter().any(|e| e.contains(c.want)) {
            failures.push(format!(
                "{}: {}\n  want an error containing: {}\n  got: {errors:#?}",
                c.name, c.why, c.want
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn update_rows_are_accepted_on_create() {
    // The immutability rows fail because of the *change*, not the new value.
    for c in bad_cases().iter().filter(|c| c.update) {
        let object = patched(c.base, c.patch);
        assert_eq!(
            validate(&object, None),
            Vec::<String>::new(),
            "{}: {}",
            c.name,
            c.why
        );
    }
}

#[test]
fn good_manifests_are_accepted() {
    let good: Vec<(&str, &str, Value, Option<Value>)> = vec![
        (
            "integration-minimal",
            "everything but credentials has a default",
            yaml(INTEGRATION),
            None,
        ),
        (
            "user-minimal",
            "integrationRef and username suffice",
            yaml(USER),
            None,
        ),
        (
            "group-minimal",
            "groupName and integrationRef suffice",
            yaml(GROUP),
            None,
        ),
        (
            "integration-full",
            "every field of DESIGN.md at a legal value",
            patched(
                INTEGRATION,
                r#"
spec:
  lastpass: {endpoint: 'https://lastpass.eu/enterpriseapi.php', credentialsSecretRef: {name: api, cidKey: account, provhashKey: secret}}
  sync:
    interval: 1m
    debounce: 500ms
    dryRun: true
    unmanagedUsers: Adopt
    deprovision: {defaultAction: Delete, allowDelete: true, maxPerSync: 0}
    rateLimit: {requestsPerSecond: 1, burst: 1}
    batchSize: 2000
  allowedNamespaces: {from: Selector, selector: {matchLabels: {lastpass-access: "true"}}}
  scim: {enabled: true, tokenRotation: {every: 720h, overlap: 1h30m}}
  ldap:
    url: 'ldap://dc1.corp.example'
    bindSecretRef: {name: ad-bind}
    userBaseDN: 'ou=People,dc=corp,dc=example'
    userFilter: '(objectClass=person)'
    groupBaseDN: 'ou=Groups,dc=corp,dc=example'
    groupFilter: '(cn=lastpass-*)'
    attributes: {username: userPrincipalName, fullName: cn}
    interval: 1h
"#,
            ),
            None,
        ),
        (
            "user-full",
            "every user field at a legal value",
            patched(
                USER,
                r#"
spec:
  integrationRef: {name: acme, namespace: identity}
  groups: [Engineering]
  attributes: {department: "R&D"}
  suspended: true
  passwordResetRequired: false
  initialPassword: Generate
  deprovisionAction: RemoveFromCompany
"#,
            ),
            None,
        ),
        (
            "user-update-mutable-fields",
            "fullName, groups and suspension may change; only the username may not",
            patched(
                USER,
                "spec: {fullName: Jane Smith, groups: [Ops], suspended: true}",
            ),
            Some(yaml(USER)),
        ),
        (
            "group-additive-selector",
            "a selector-only Additive group",
            patched(
                GROUP,
                "spec: {members: null, memberSelector: {matchLabels: {team: eng}}, policy: Additive}",
            ),
            None,
        ),
        (
            "group-update-members",
            "members may change on update",
            patched(GROUP, "spec: {members: [a@example.com, b@example.com]}"),
            Some(yaml(GROUP)),
        ),
    ];
    for (name, why, object, old) in good {
        assert_eq!(
            validate(&object, old.as_ref()),
            Vec::<String>::new(),
            "{name}: {why}"
        );
    }
}

/// The interval's pattern and its CEL `duration()` agree on Go's duration syntax: a legal
/// spelling of at least a minute passes both.
#[test]
fn go_style_intervals_pass_pattern_and_cel() {
    for interval in ["1m", "1.5h", "90000ms", "60000000us", "1h0m0s", "2m30.5s"] {
        let object = patched(
            INTEGRATION,
            &format!("spec: {{sync: {{interval: '{interval}'}}}}"),
        );
        assert_eq!(
            validate(&object, None),
            Vec::<String>::new(),
            "interval {interval}"
        );
    }
}

/// Every CEL rule in the CRDs has a row above: deleting a rule from the types fails that row,
/// and adding one without a row fails here.
#[test]
fn every_cel_rule_has_a_bad_case() {
    let rules = cel_messages();
    assert_eq!(rules.len(), 7, "CEL rules in the CRDs: {rules:#?}");
    let cases = bad_cases();
    for rule in rules {
        assert!(
            cases.iter().any(|c| c.want == rule),
            "no bad case expects the CEL message {rule:?}"
        );
    }
}

/// Every DirectoryIntegration CEL rule is also checked by the operator (`engine::spec_check`),
/// since API servers before 1.25 do not run CEL: each bad row whose expected error is a CEL
/// message makes the operator's check report a problem whose message starts with it. A new
/// CEL rule on the integration without an operator check fails here.
#[test]
fn every_integration_cel_rule_is_also_checked_by_the_operator() {
    use lastpass_operator::crd::DirectoryIntegration;
    use lastpass_operator::engine::spec_check::check_integration;
    let cel_rows: Vec<Bad> = bad_cases()
        .into_iter()
        .filter(|c| c.base == INTEGRATION && is_cel_message(c))
        .collect();
    assert!(
        cel_rows.len() >= 6,
        "{} integration CEL rows",
        cel_rows.len()
    );
    for c in cel_rows {
        let object = patched(c.base, c.patch);
        let integration: DirectoryIntegration = serde_json::from_value(object)
            .unwrap_or_else(|e| panic!("{}: does not deserialize: {e}", c.name));
        let problems = check_integration(&integration);
        assert!(
            problems.iter().any(|p| p.message.starts_with(c.want)),
            "{} ({}): the operator does not check the CEL rule {:?}; it found {problems:#?}",
            c.name,
            c.why,
            c.want
        );
    }
}

/// Whether a row expects the message of a CEL rule (not a structural-schema error).
fn is_cel_message(c: &Bad) -> bool {
    cel_messages().iter().any(|m| m == c.want)
}

/// The messages of every `x-kubernetes-validations` rule of the CRDs.
fn cel_messages() -> Vec<String> {
    fn walk(schema: &Value, out: &mut Vec<String>) {
        match schema {
            Value::Object(o) => {
                for (k, v) in o {
                    if k == "x-kubernetes-validations" {
                        out.extend(
                            v.as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(|r| r["message"].as_str())
                                .map(String::from),
                        );
                    } else if k != "default" && k != "enum" {
                        walk(v, out);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (_, schema) in all_crd_schemas() {
        walk(&schema, &mut out);
    }
    out
}

/// Endpoints, and whether the provisioning hash may not be sent there: anything but https,
/// except plain http to a loopback host.
const ENDPOINTS: &[(&str, bool)] = &[
    ("https://lastpass.com/enterpriseapi.php", false),
    ("HTTPS://lastpass.eu/enterpriseapi.php", false),
    ("http://127.0.0.1:8080/enterpriseapi.php", false),
    ("http://127.9.9.9/x", false),
    ("http://localhost:1/x", false),
    ("http://LOCALHOST/x", false),
    ("http://[::1]:9/x", false),
    ("http://localhost", false),
    ("http://lastpass.com/enterpriseapi.php", true),
    ("http://10.0.0.1/x", true),
    ("http://128.0.0.1/x", true),
    ("http://localhost.evil.example/x", true),
    ("http://127.0.0.1.evil.example/x", true),
    ("http://127.0.0.1:80@evil.example/x", true),
    ("http://[::2]/x", true),
    ("ftp://lastpass.com/x", true),
];

/// The operator's own check (`lastpass::insecure_endpoint`) refuses exactly the insecure
/// endpoints, and the CEL endpoint rule agrees with it on every one: the server refuses at
/// admission exactly what the operator would refuse to call.
#[test]
fn endpoint_rule_in_cel_and_in_the_operator_agree() {
    use lastpass_operator::lastpass::insecure_endpoint;
    for &(endpoint, insecure) in ENDPOINTS {
        let operator_refuses = insecure_endpoint(endpoint).is_some();
        assert_eq!(
            operator_refuses, insecure,
            "{endpoint}: the operator refuses it"
        );
        let object = patched(
            INTEGRATION,
            &format!("spec: {{lastpass: {{endpoint: '{endpoint}'}}}}"),
        );
        let cel_refuses = validate(&object, None)
            .iter()
            .any(|e| e.contains(lastpass_operator::crd::ENDPOINT_RULE_MESSAGE));
        assert_eq!(
            cel_refuses, operator_refuses,
            "{endpoint}: CEL refuses {cel_refuses}, the operator refuses {operator_refuses}"
        );
        let allowed = patched(
            INTEGRATION,
            &format!("spec: {{lastpass: {{endpoint: '{endpoint}', allowInsecureEndpoint: true}}}}"),
        );
        assert!(
            !validate(&allowed, None)
                .iter()
                .any(|e| e.contains(lastpass_operator::crd::ENDPOINT_RULE_MESSAGE)),
            "{endpoint}: allowInsecureEndpoint lifts the rule"
        );
    }
}

/// The hand-written checker understands every keyword the generated schemas use.
#[test]
fn checker_covers_every_schema_keyword() {
    for (kind, schema) in all_crd_schemas() {
        assert_eq!(unsupported_keywords(&schema, &kind), Vec::<String>::new());
    }
}

/// Unit tests of the checker on small schemas, independent of the CRDs.
mod checker {
    use super::*;
    use serde_json::json;

    fn errors(schema: Value, value: Value) -> Vec<String> {
        check(&schema, &value, "spec")
    }

    #[test]
    fn types_and_null() {
        let s = json!({"type": "integer"});
        assert_eq!(errors(s.clone(), json!(3)), Vec::<String>::new());
        assert_eq!(
            errors(s.clone(), json!(1.5)),
            ["spec: expected integer, got number 1.5"]
        );
        assert_eq!(
            errors(s, json!(null)),
            ["spec: must not be null; expected integer"]
        );
        assert!(errors(json!({"type": "string", "nullable": true}), json!(null)).is_empty());
        assert_eq!(
            errors(json!({"type": "boolean"}), json!("yes")),
            [r#"spec: expected boolean, got string "yes""#]
        );
    }

    #[test]
    fn objects_required_and_unknown_fields() {
        let s =
            json!({"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}});
        assert_eq!(errors(s.clone(), json!({"a": "x"})), Vec::<String>::new());
        assert_eq!(errors(s.clone(), json!({})), ["spec.a: Required value"]);
        assert_eq!(
            errors(s, json!({"a": "x", "b": 1})),
            [r#"spec.b: unknown field "b" (the API server would silently drop it)"#]
        );
        let map = json!({"type": "object", "additionalProperties": {"type": "string"}});
        assert_eq!(
            errors(map, json!({"k": 1})),
            ["spec.k: expected string, got integer 1"]
        );
        let open = json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
        assert!(errors(open, json!({"anything": 1})).is_empty());
    }

    #[test]
    fn strings_enums_and_formats() {
        let s = json!({"type": "string", "minLength": 2, "maxLength": 3, "pattern": "^a"});
        assert_eq!(errors(s.clone(), json!("ab")), Vec::<String>::new());
        assert_eq!(
            errors(s.clone(), json!("a")),
            [r#"spec: "a" is shorter than the minimum length 2"#]
        );
        assert_eq!(
            errors(s.clone(), json!("abcd")),
            ["spec: 4 characters are more than the maximum length 3"]
        );
        assert_eq!(
            errors(s, json!("ba")),
            [r#"spec: "ba" does not match the pattern '^a'"#]
        );
        assert_eq!(
            errors(json!({"type": "string", "enum": ["A", "B"]}), json!("C")),
            [r#"spec: Unsupported value: "C": supported values: "A", "B""#]
        );
        let time = json!({"type": "string", "format": "date-time"});
        assert!(errors(time.clone(), json!("2024-05-01T10:00:00Z")).is_empty());
        assert_eq!(
            errors(time, json!("yesterday")),
            [r#"spec: "yesterday" is not an RFC 3339 date-time"#]
        );
        let uri = json!({"type": "string", "format": "uri"});
        assert!(errors(uri.clone(), json!("https://lastpass.com/enterpriseapi.php")).is_empty());
        assert_eq!(
            errors(uri, json!("/relative")),
            [r#"spec: "/relative" is not a valid uri"#]
        );
    }

    #[test]
    fn numbers_and_arrays() {
        let n = json!({"type": "integer", "format": "int32", "minimum": 0.0, "maximum": 10.0});
        assert!(errors(n.clone(), json!(10)).is_empty());
        assert_eq!(
            errors(n.clone(), json!(-1)),
            ["spec: -1 is less than the minimum 0"]
        );
        assert_eq!(
            errors(n.clone(), json!(11)),
            ["spec: 11 is greater than the maximum 10"]
        );
        assert_eq!(
            errors(n, json!(3_000_000_000_i64)),
            [
                "spec: 3000000000 is greater than the maximum 10",
                "spec: 3000000000 does not fit in int32"
            ]
        );
        let a = json!({"type": "array", "maxItems": 1, "items": {"type": "string"}});
        assert_eq!(
            errors(a, json!(["x", 2])),
            [
                "spec: 2 items are more than the maximum 1",
                "spec[1]: expected string, got integer 2"
            ]
        );
        let list_map = json!({"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"],
            "items": {"type": "object", "properties": {"type": {"type": "string"}}}});
        assert_eq!(
            errors(list_map, json!([{"type": "Ready"}, {"type": "Ready"}])),
            [r#"spec[1]: Duplicate value: list-map keys ["type"] repeat"#]
        );
    }

    #[test]
    fn unknown_schema_keywords_are_reported() {
        let s = json!({"type": "object", "properties": {"a": {"type": "string", "oneOf": []}}});
        assert_eq!(unsupported_keywords(&s, "X"), ["X.a: oneOf"]);
    }
}
