//! The pull's settings: `spec.ldap` validated, the bind Secret and the CA bundle read.

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};
use secrecy::SecretString;

use super::Error;
use crate::crd::{DirectoryIntegration, LdapSpec, parse_duration};

/// Key of the bind DN in the bind Secret.
pub const BIND_DN_KEY: &str = "bindDN";
/// Key of the bind password in the bind Secret.
pub const PASSWORD_KEY: &str = "password";

/// Everything a pull needs from `spec.ldap`, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `ldap://` or `ldaps://` URL.
    pub url: String,
    /// StartTLS on an `ldap://` URL.
    pub start_tls: bool,
    /// Base DN of the user search.
    pub user_base_dn: String,
    /// Base DN of the group searches, if groups are pulled.
    pub group_base_dn: Option<String>,
    /// Page size of the paged results control.
    pub page_size: i32,
    /// Connect (TCP + TLS) timeout.
    pub connect_timeout: Duration,
    /// Per-operation timeout.
    pub operation_timeout: Duration,
    /// Pull period.
    pub interval: Duration,
    /// Values per ranged read of a group's member attribute: `None` (the default) asks for
    /// all of them and follows the ranges the server imposes (AD: 1,500 per read); a number
    /// asks for ranges of that size from the start.
    pub member_range_step: Option<u64>,
    /// The spec itself, for mapping.
    pub spec: LdapSpec,
}

/// Bind DN and password; the password never reaches `Debug`, logs or errors.
#[derive(Debug, Clone)]
pub struct BindCredentials {
    /// The bind DN (not secret; shown in errors).
    pub bind_dn: String,
    /// The bind password.
    pub password: SecretString,
}

impl Settings {
    /// Validates `spec.ldap` of an integration.
    pub fn from_integration(di: &DirectoryIntegration) -> Result<Self, Error> {
        let spec = di.spec.ldap.clone().ok_or(Error::InvalidConfig {
            field: "",
            problem: "the integration has no spec.ldap".into(),
        })?;
        Self::from_spec(spec)
    }

    /// Validates a `spec.ldap`.
    pub fn from_spec(spec: LdapSpec) -> Result<Self, Error> {
        let url = spec.url.clone().unwrap_or_default();
        if !(url.starts_with("ldap://") || url.starts_with("ldaps://")) {
            return Err(Error::InvalidConfig {
                field: "url",
                problem: format!("{url:?} is not an ldap:// or ldaps:// URL"),
            });
        }
        let user_base_dn = spec.user_base_dn.clone().unwrap_or_default();
        if user_base_dn.trim().is_empty() {
            return Err(Error::InvalidConfig {
                field: "userBaseDN",
                problem: "required, e.g. ou=People,dc=corp,dc=example".into(),
            });
        }
        for (field, filter) in [
            ("userFilter", Some(&spec.user_filter)),
            ("groupFilter", spec.group_filter.as_ref()),
            ("groupObjectFilter", Some(&spec.group_object_filter)),
        ] {
            if let Some(f) = filter
                && !(f.trim_start().starts_with('(') && f.trim_end().ends_with(')'))
            {
                return Err(Error::InvalidConfig {
                    field,
                    problem: format!("{f:?} is not an LDAP filter; wrap it in parentheses"),
                });
            }
        }
        if spec.page_size < 1 {
            return Err(Error::InvalidConfig {
                field: "pageSize",
                problem: "must be at least 1".into(),
            });
        }
        let duration = |field: &'static str, value: &str| {
            parse_duration(field, value).map_err(|e| Error::InvalidConfig {
                field,
                problem: e.to_string(),
            })
        };
        Ok(Self {
            start_tls: spec.start_tls,
            user_base_dn,
            group_base_dn: spec.group_base_dn.clone().filter(|b| !b.trim().is_empty()),
            page_size: spec.page_size,
            connect_timeout: duration("connectTimeout", &spec.connect_timeout)?,
            operation_timeout: duration("operationTimeout", &spec.operation_timeout)?,
            interval: duration("interval", &spec.interval)?.max(Duration::from_secs(1)),
            url,
            member_range_step: None,
            spec,
        })
    }
}

/// Reads the bind Secret named by `spec.ldap.bindSecretRef` (keys `bindDN`, `password`).
pub async fn bind_credentials(
    client: &Client,
    namespace: &str,
    spec: &LdapSpec,
) -> Result<BindCredentials, Error> {
    let name = spec
        .bind_secret_ref
        .as_ref()
        .map(|r| r.name.clone())
        .ok_or(Error::InvalidConfig {
            field: "bindSecretRef",
            problem: "required: a Secret with keys bindDN and password".into(),
        })?;
    let secret = read_secret(client, namespace, &name).await?;
    let bind_dn = secret_key(&secret, namespace, &name, BIND_DN_KEY)?;
    let password = secret_key(&secret, namespace, &name, PASSWORD_KEY)?;
    Ok(BindCredentials {
        bind_dn: String::from_utf8(bind_dn).map_err(|_| Error::Secret {
            namespace: namespace.into(),
            name: name.clone(),
            problem: format!("key {BIND_DN_KEY} is not UTF-8"),
        })?,
        password: SecretString::from(String::from_utf8(password).map_err(|_| Error::Secret {
            namespace: namespace.into(),
            name: name.clone(),
            problem: format!("key {PASSWORD_KEY} is not UTF-8"),
        })?),
    })
}

/// Reads the PEM CA bundle named by `spec.ldap.caSecretRef`, if any.
pub async fn ca_bundle(
    client: &Client,
    namespace: &str,
    spec: &LdapSpec,
) -> Result<Option<Vec<u8>>, Error> {
    let Some(r) = &spec.ca_secret_ref else {
        return Ok(None);
    };
    let secret = read_secret(client, namespace, &r.name).await?;
    secret_key(&secret, namespace, &r.name, &r.key).map(Some)
}

async fn read_secret(client: &Client, namespace: &str, name: &str) -> Result<Secret, Error> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    match api.get_opt(name).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(Error::Secret {
            namespace: namespace.into(),
            name: name.into(),
            problem: "not found; create it in the integration's namespace".into(),
        }),
        Err(source) => Err(Error::Kube {
            step: format!("reading Secret {namespace}/{name}"),
            source,
        }),
    }
}

fn secret_key(secret: &Secret, namespace: &str, name: &str, key: &str) -> Result<Vec<u8>, Error> {
    let value = secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|v| v.0.clone())
        .or_else(|| {
            secret
                .string_data
                .as_ref()
                .and_then(|d| d.get(key))
                .map(|v| v.clone().into_bytes())
        });
    match value {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(Error::Secret {
            namespace: namespace.into(),
            name: name.into(),
            problem: format!("has no (or an empty) key {key:?}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> LdapSpec {
        LdapSpec {
            url: Some("ldap://dc1:389".into()),
            user_base_dn: Some("ou=People,dc=x".into()),
            ..LdapSpec::default()
        }
    }

    #[test]
    fn defaults_validate() {
        let s = Settings::from_spec(spec()).unwrap();
        assert!(s.start_tls);
        assert_eq!(s.page_size, 500);
        assert_eq!(s.interval, Duration::from_secs(900));
        assert_eq!(s.connect_timeout, Duration::from_secs(10));
    }

    #[test]
    fn bad_fields_are_named() {
        let cases: Vec<(&str, LdapSpec)> = vec![
            (
                "url",
                LdapSpec {
                    url: Some("http://x".into()),
                    ..spec()
                },
            ),
            (
                "userBaseDN",
                LdapSpec {
                    user_base_dn: None,
                    ..spec()
                },
            ),
            (
                "userFilter",
                LdapSpec {
                    user_filter: "objectClass=person".into(),
                    ..spec()
                },
            ),
            (
                "operationTimeout",
                LdapSpec {
                    operation_timeout: "soon".into(),
                    ..spec()
                },
            ),
            (
                "pageSize",
                LdapSpec {
                    page_size: 0,
                    ..spec()
                },
            ),
        ];
        for (field, s) in cases {
            let err = Settings::from_spec(s).unwrap_err();
            assert!(
                err.to_string().starts_with(&format!("spec.ldap.{field}:")),
                "{err}"
            );
        }
    }

    #[test]
    fn credentials_debug_hides_the_password() {
        let c = BindCredentials {
            bind_dn: "cn=svc".into(),
            password: SecretString::from("hunter2".to_string()),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
