//! A real Active Directory for the AD tests: the Samba AD DC that `scripts/test.sh` starts once
//! per run with `scripts/samba-ad.sh` (it binds fixed ports, so one per machine), named by
//! `LASTPASS_OPERATOR_TEST_SAMBA` (the DIR/env file it writes). Each test works in its own OU.
//!
//! Without that variable a test prints a loud SKIPPED outside CI and **fails** in CI (`CI` set).
//! Cluster-free: a pull is read from Samba by the operator's own code and planned by its pure
//! middle ([`lastpass_operator::ldap::plan`]) against an in-memory set of resources.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

use kube::ResourceExt;
use lastpass_operator::crd::{LastPassGroup, LastPassUser, LdapNesting, LdapSpec, SecretRef};
use lastpass_operator::ldap::config::{BindCredentials, Settings};
use lastpass_operator::ldap::desired::Target;
use lastpass_operator::ldap::directory::Snapshot;
use lastpass_operator::ldap::plan::{self, Planned};
use lastpass_operator::ldap::safeguard::{Decisions, Limits};
use lastpass_operator::ldap::{Error, connect, read};
use secrecy::SecretString;

/// The variable naming Samba's env file.
pub const ENV_VAR: &str = "LASTPASS_OPERATOR_TEST_SAMBA";

/// `userAccountControl` of an enabled account without a password (NORMAL_ACCOUNT +
/// PASSWD_NOTREQD): plain LDAP cannot set passwords.
pub const UAC_ENABLED: u32 = 544;
/// The same, disabled (ACCOUNTDISABLE, bit 2).
pub const UAC_DISABLED: u32 = 546;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The running Samba AD DC, as its env file describes it.
#[derive(Clone, Debug)]
pub struct Samba {
    /// `ldap://127.0.0.1:389`.
    pub url: String,
    /// `ldaps://127.0.0.1:636`.
    pub ldaps_url: String,
    /// `DC=corp,DC=example,DC=com`.
    pub base: String,
    /// The administrator's bind name.
    pub bind_dn: String,
    /// Its password.
    pub password: String,
    /// PEM of the CA that signed Samba's certificate.
    pub ca_pem: String,
    /// PEM of an unrelated CA.
    pub other_ca_pem: String,
}

impl Samba {
    /// The Samba of this run, or `None` (skip) outside CI; panics in CI without one.
    pub fn get() -> Option<Samba> {
        let Some(path) = std::env::var_os(ENV_VAR) else {
            let why = format!(
                "{ENV_VAR} is not set; scripts/test.sh starts Samba (scripts/samba-ad.sh start DIR) and sets it to DIR/env"
            );
            if std::env::var_os("CI").is_some() {
                panic!("Active Directory tests cannot run in CI: {why}");
            }
            eprintln!("\n=====================================================================");
            eprintln!("SKIPPED Active Directory test (real Samba AD DC needed): {why}");
            eprintln!("=====================================================================\n");
            return None;
        };
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{ENV_VAR}={path:?} cannot be read: {e}"));
        let env: BTreeMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
        let get = |k: &str| {
            env.get(k)
                .unwrap_or_else(|| panic!("{path:?} has no {k}"))
                .to_string()
        };
        let ca_file = get("CA_FILE");
        let other = std::path::Path::new(&ca_file).with_file_name("other-ca.pem");
        Some(Samba {
            url: get("LDAP_URL"),
            ldaps_url: get("LDAPS_URL"),
            base: get("BASE_DN"),
            bind_dn: get("BIND_DN"),
            password: get("BIND_PASSWORD"),
            ca_pem: std::fs::read_to_string(&ca_file).expect("CA_FILE"),
            other_ca_pem: std::fs::read_to_string(other).expect("other-ca.pem"),
        })
    }

    /// A fresh OU `OU=<name>-<pid>-<n>` with `OU=people` and `OU=groups` under it.
    pub fn ou(&self, name: &str) -> Ou {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let token = format!("{}{}", std::process::id() % 100_000, n);
        let dn = format!("OU={name}-{token},{}", self.base);
        let ou = Ou {
            samba: self.clone(),
            dn: dn.clone(),
            token,
        };
        self.modify(&format!(
            "dn: {dn}\nchangetype: add\nobjectClass: organizationalUnit\n\n\
             dn: {}\nchangetype: add\nobjectClass: organizationalUnit\n\n\
             dn: {}\nchangetype: add\nobjectClass: organizationalUnit\n\n",
            ou.people(),
            ou.groups()
        ));
        ou
    }

    /// An OU made before (by another run), for reading only.
    pub fn existing_ou(&self, dn: &str) -> Ou {
        Ou {
            samba: self.clone(),
            dn: dn.to_string(),
            token: String::new(),
        }
    }

    /// Applies an LDIF of changes (`changetype:` records) with `ldapmodify`.
    pub fn modify(&self, ldif: &str) {
        super::ldapmodify(&self.url, &self.bind_dn, &self.password, ldif);
    }

    /// The administrator's bind credentials.
    pub fn credentials(&self) -> BindCredentials {
        BindCredentials {
            bind_dn: self.bind_dn.clone(),
            password: SecretString::from(self.password.clone()),
        }
    }

    /// A raw, bound ldap3 connection (for reads the operator does not make).
    pub async fn raw(&self) -> ldap3::Ldap {
        let (conn, mut ldap) = ldap3::LdapConnAsync::new(&self.url).await.unwrap();
        ldap3::drive!(conn);
        ldap.simple_bind(&self.bind_dn, &self.password)
            .await
            .unwrap()
            .success()
            .unwrap();
        ldap
    }
}

/// One test's OU.
pub struct Ou {
    /// The Samba it lives in.
    pub samba: Samba,
    /// Its DN.
    pub dn: String,
    /// Unique token, in sAMAccountNames (unique domain-wide).
    pub token: String,
}

impl Ou {
    /// `OU=people` of this OU.
    pub fn people(&self) -> String {
        format!("OU=people,{}", self.dn)
    }

    /// `OU=groups` of this OU.
    pub fn groups(&self) -> String {
        format!("OU=groups,{}", self.dn)
    }

    /// DN of user `cn`.
    pub fn user_dn(&self, cn: &str) -> String {
        format!("CN={cn},{}", self.people())
    }

    /// DN of group `cn`.
    pub fn group_dn(&self, cn: &str) -> String {
        format!("CN={cn},{}", self.groups())
    }

    /// The e-mail of user `cn`.
    pub fn mail(&self, cn: &str) -> String {
        format!("{cn}.{}@corp.example.com", self.token)
    }

    /// LDIF adding user `cn` (mail `<cn>.<token>@corp.example.com`).
    pub fn user(&self, cn: &str, uac: u32) -> String {
        format!(
            "dn: {}\nchangetype: add\nobjectClass: user\nsAMAccountName: {}\nmail: {}\ndisplayName: Person {cn}\nuserAccountControl: {uac}\n\n",
            self.user_dn(cn),
            self.sam(cn),
            self.mail(cn),
        )
    }

    /// The sAMAccountName of user `cn` (at most 20 characters, unique in the domain).
    pub fn sam(&self, cn: &str) -> String {
        let s = format!("{}{cn}", self.token);
        s.chars().take(20).collect()
    }

    /// LDIF adding group `cn` (global security group) with member DNs.
    pub fn group(&self, cn: &str, members: &[String]) -> String {
        let mut s = format!(
            "dn: {}\nchangetype: add\nobjectClass: group\nsAMAccountName: {}g{cn}\n",
            self.group_dn(cn),
            self.token
        );
        for m in members {
            s += &format!("member: {m}\n");
        }
        s + "\n"
    }

    /// The pull's settings for this OU: users under `OU=people`, groups under `OU=groups`
    /// whose cn starts with `lastpass-`, plain LDAP.
    pub fn spec(&self, nesting: LdapNesting) -> LdapSpec {
        let mut spec = LdapSpec {
            url: Some(self.samba.url.clone()),
            start_tls: false,
            bind_secret_ref: Some(SecretRef {
                name: "ad-bind".into(),
            }),
            user_base_dn: Some(self.people()),
            user_filter: "(&(objectCategory=person)(objectClass=user))".into(),
            group_base_dn: Some(self.groups()),
            group_filter: Some("(cn=lastpass-*)".into()),
            group_object_filter: "(objectClass=group)".into(),
            page_size: 500,
            ..LdapSpec::default()
        };
        spec.membership.nesting = nesting;
        spec
    }

    /// Reads the directory as a pull does.
    pub async fn read(&self, settings: &Settings) -> Result<Snapshot, Error> {
        read_with(settings, None, &self.samba.credentials()).await
    }
}

/// Connects with `settings` (and a CA bundle) and reads the directory as a pull does.
pub async fn read_with(
    settings: &Settings,
    ca: Option<&[u8]>,
    credentials: &BindCredentials,
) -> Result<Snapshot, Error> {
    let mut session = connect::connect(settings, ca, credentials).await?;
    let snapshot = read::read_directory(&mut session, settings).await;
    session.close().await;
    snapshot
}

/// The integration's resources, in memory: what the pull would have written to the cluster.
#[derive(Default)]
pub struct World {
    /// LastPassUsers by name.
    pub users: BTreeMap<String, LastPassUser>,
    /// LastPassGroups by name.
    pub groups: BTreeMap<String, LastPassGroup>,
}

/// The target every AD test pulls for.
pub fn target() -> Target {
    Target {
        namespace: "identity".into(),
        integration: "corp".into(),
    }
}

impl World {
    /// Plans one pull of `snapshot` under `limits` and writes what it allows.
    pub fn pull(&mut self, snapshot: &Snapshot, spec: &LdapSpec, limits: Limits) -> Planned {
        let users: Vec<LastPassUser> = self.users.values().cloned().collect();
        let groups: Vec<LastPassGroup> = self.groups.values().cloned().collect();
        let planned = plan::plan(
            snapshot,
            &target(),
            spec,
            (&users, &groups),
            &limits,
            &Decisions::default(),
        );
        let c = &planned.allowed;
        for u in c.create_users.iter().chain(&c.update_users) {
            self.users.insert(u.name_any(), u.clone());
        }
        for g in c.create_groups.iter().chain(&c.update_groups) {
            self.groups.insert(g.name_any(), g.clone());
        }
        for n in &c.delete_users {
            self.users.remove(n);
        }
        for n in &c.delete_groups {
            self.groups.remove(n);
        }
        planned
    }

    /// The user with this username.
    pub fn user(&self, username: &str) -> Option<&LastPassUser> {
        self.users
            .values()
            .find(|u| u.spec.username.eq_ignore_ascii_case(username))
    }

    /// The members of the group with this name, sorted.
    pub fn members(&self, group: &str) -> Vec<String> {
        let g = self
            .groups
            .values()
            .find(|g| g.spec.group_name == group)
            .unwrap_or_else(|| panic!("group {group} in {:?}", self.groups.keys()));
        let mut m = g.spec.members.clone();
        m.sort();
        m
    }
}

/// Limits that allow every deletion.
pub fn no_limits() -> Limits {
    Limits {
        max_per_sync: usize::MAX,
        max_percent: 100,
    }
}
