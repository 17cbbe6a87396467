//! `DirectoryIntegration` (`lpdi`): one LastPass account connection and how it is synced.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{DeprovisionAction, SecretRef, conditions_schema, optional_time_schema};

/// Default Enterprise API endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://lastpass.com/enterpriseapi.php";

/// One LastPass Business account, the credentials to reach it, and the policy of its sync.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "lastpass-operator.io",
    version = "v1alpha1",
    kind = "DirectoryIntegration",
    namespaced,
    status = "DirectoryIntegrationStatus",
    shortname = "lpdi",
    category = "lastpass",
    derive = "PartialEq",
    doc = "A LastPass Business account connection: credentials, sync policy, deletion budget, and optional SCIM and LDAP sources.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Managed",
        type_ = "integer",
        json_path = ".status.counts.managed"
    ),
    printcolumn(
        name = "Unmanaged",
        type_ = "integer",
        json_path = ".status.counts.unmanaged"
    ),
    printcolumn(
        name = "Pending Deprovision",
        type_ = "integer",
        json_path = ".status.counts.pendingDeprovision"
    ),
    printcolumn(
        name = "Held",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"DeprovisionBlocked\")].status"
    ),
    printcolumn(
        name = "Held Because",
        type_ = "string",
        json_path = ".status.held.reason"
    ),
    printcolumn(name = "Dry Run", type_ = "boolean", json_path = ".spec.sync.dryRun"),
    printcolumn(name = "Changed", type_ = "date", json_path = ".status.lastSyncTime"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryIntegrationSpec {
    /// How to reach the LastPass Enterprise API.
    pub lastpass: LastPassConnection,
    /// How and how often the account is synced, and the safety guards of the sync.
    #[serde(default)]
    pub sync: SyncSpec,
    /// Which namespaces' LastPassUsers and LastPassGroups may use this account.
    #[serde(default)]
    pub allowed_namespaces: AllowedNamespaces,
    /// Inbound SCIM 2.0 for an identity provider (Okta, Entra ID, OneLogin, PingOne, Google).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim: Option<ScimSpec>,
    /// Pull users and groups from LDAP / Active Directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ldap: Option<LdapSpec>,
}

/// CEL form of [`crate::lastpass::insecure_endpoint`]: `https`, or `http` to a loopback host
/// (127.0.0.0/8, `::1`, `localhost`), unless `allowInsecureEndpoint` is set. The operator
/// checks the same rule itself (`engine::spec_check`) where the API server has no CEL.
pub const ENDPOINT_RULE: &str = r"(has(self.allowInsecureEndpoint) && self.allowInsecureEndpoint) || self.endpoint.matches('^(?i)(https://|http://(localhost|127\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}|\\[::1\\])(:[0-9]+)?([/?#]|$))')";

/// Message of [`ENDPOINT_RULE`], also the operator's `InsecureEndpoint` message.
pub const ENDPOINT_RULE_MESSAGE: &str = "spec.lastpass.endpoint must use https (the provisioning hash is sent in every request) unless its host is loopback; use an https:// URL, or set spec.lastpass.allowInsecureEndpoint: true for a trusted test endpoint";

/// The Enterprise API endpoint and the Secret holding `cid` and `provhash`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(ENDPOINT_RULE).message(ENDPOINT_RULE_MESSAGE))]
pub struct LastPassConnection {
    /// Full URL of the Enterprise API: `https://`, or `http://` to a loopback host only
    /// (unless `allowInsecureEndpoint`).
    #[serde(default = "default_endpoint")]
    #[schemars(url)]
    pub endpoint: String,
    /// Allow a plain `http://` endpoint on a non-loopback host (a simulator in a trusted
    /// network). The provisioning hash then crosses the network in clear text.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_insecure_endpoint: bool,
    /// Secret (same namespace) with the account id and the API secret.
    pub credentials_secret_ref: CredentialsSecretRef,
    /// IANA time zone in which LastPass's zone-less timestamps (last login) are read. Default
    /// `America/New_York`: LastPass reports in US/Eastern. `UTC` for accounts that write UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub time_zone: Option<String>,
}

fn default_endpoint() -> String {
    DEFAULT_ENDPOINT.to_string()
}

/// Secret with the LastPass account id (`cid`) and API secret (`provhash`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialsSecretRef {
    /// Name of the Secret.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Key of the account id in the Secret.
    #[serde(default = "default_cid_key")]
    pub cid_key: String,
    /// Key of the API secret (provhash) in the Secret.
    #[serde(default = "default_provhash_key")]
    pub provhash_key: String,
}

fn default_cid_key() -> String {
    "cid".to_string()
}

fn default_provhash_key() -> String {
    "provhash".to_string()
}

/// Sync cadence and guards.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncSpec {
    /// Full read-back period (drift detection); at least 1m.
    #[serde(default = "default_interval")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$"))]
    #[x_kube(validation = Rule::new("duration(self) >= duration('1m')").message("spec.sync.interval must be at least 1m"))]
    pub interval: String,
    /// Quiet period after a change before planning, so a burst of changes becomes one plan
    /// (at most 30s of waiting). A burst still arriving after it, with `batchSize × burst`
    /// changes waiting, is planned in slices of full batches while it arrives.
    #[serde(default = "default_debounce")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$"))]
    pub debounce: String,
    /// Plan only: write the plan to status and Events, change nothing in LastPass.
    #[serde(default)]
    pub dry_run: bool,
    /// What to do with LastPass users that no resource declares.
    #[serde(default)]
    pub unmanaged_users: UnmanagedUsers,
    /// Deprovisioning policy and deletion budget.
    #[serde(default)]
    pub deprovision: DeprovisionPolicy,
    /// Client-side rate limit towards the Enterprise API (token bucket per account).
    #[serde(default)]
    pub rate_limit: RateLimit,
    /// Users per `batchadd` / `batchchangegrp` call.
    #[serde(default = "default_batch_size")]
    #[schemars(range(min = 1, max = 2000))]
    pub batch_size: i32,
}

impl Default for SyncSpec {
    fn default() -> Self {
        Self {
            interval: default_interval(),
            debounce: default_debounce(),
            dry_run: false,
            unmanaged_users: UnmanagedUsers::default(),
            deprovision: DeprovisionPolicy::default(),
            rate_limit: RateLimit::default(),
            batch_size: default_batch_size(),
        }
    }
}

fn default_interval() -> String {
    "10m".to_string()
}

fn default_debounce() -> String {
    "5s".to_string()
}

fn default_batch_size() -> i32 {
    100
}

/// Treatment of LastPass users that no resource of the integration declares.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum UnmanagedUsers {
    /// Leave them alone and do not report them.
    Ignore,
    /// Leave them alone; count them (and a sample) in status.
    #[default]
    Report,
    /// Create LastPassUser resources for them, labelled `source: adopted`.
    Adopt,
}

/// How users leave LastPass when their resource is deleted, and the deletion budget.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeprovisionPolicy {
    /// Action for deleted resources that do not set `deprovisionAction`.
    #[serde(default)]
    pub default_action: DeprovisionAction,
    /// `Delete` (irreversible) anywhere is refused unless this is true.
    #[serde(default)]
    pub allow_delete: bool,
    /// Safeguard: deprovisions + suspensions allowed per `window`. Beyond it (counting those
    /// executed in the window and those of the plan), the whole destructive part of the plan
    /// is held until approved (`lastpass-operator.io/approve-plan`) or rejected
    /// (`lastpass-operator.io/reject-plan`).
    #[serde(default = "default_max_per_sync")]
    #[schemars(range(min = 0))]
    pub max_per_sync: i32,
    /// Safeguard as a share of the managed users, in percent: more than this share is held
    /// like more than `maxPerSync` (whichever is smaller; "above" is strictly greater),
    /// of the users the integration manages when the plan is made. An LDAP pull compares its
    /// deletions with the LDAP-sourced users it manages.
    #[serde(default = "default_max_percent")]
    #[schemars(range(min = 0, max = 100))]
    pub max_percent: i32,
    /// Rolling window of the safeguard, e.g. `1h`. Changes a person approved do not count.
    #[serde(default = "default_window")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$"))]
    pub window: String,
    /// Safeguard: group-membership removals allowed per `window` (removals caused by a
    /// deleted or emptied Authoritative LastPassGroup included).
    #[serde(default = "default_max_membership_removals")]
    #[schemars(range(min = 0))]
    pub max_membership_removals: i32,
}

impl Default for DeprovisionPolicy {
    fn default() -> Self {
        Self {
            default_action: DeprovisionAction::default(),
            allow_delete: false,
            max_per_sync: default_max_per_sync(),
            max_percent: default_max_percent(),
            window: default_window(),
            max_membership_removals: default_max_membership_removals(),
        }
    }
}

fn default_max_per_sync() -> i32 {
    10
}

fn default_max_percent() -> i32 {
    10
}

fn default_window() -> String {
    "1h".to_string()
}

fn default_max_membership_removals() -> i32 {
    100
}

/// Token bucket towards the Enterprise API, shared by every caller of one account.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.requestsPerSecond > 0 && self.burst > 0").message("spec.sync.rateLimit.requestsPerSecond and burst must be positive"))]
pub struct RateLimit {
    /// Sustained requests per second.
    #[serde(default = "default_rps")]
    pub requests_per_second: i32,
    /// Requests that may be sent at once after a quiet period.
    #[serde(default = "default_burst")]
    pub burst: i32,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            requests_per_second: default_rps(),
            burst: default_burst(),
        }
    }
}

fn default_rps() -> i32 {
    5
}

fn default_burst() -> i32 {
    10
}

/// Which namespaces may reference this integration (as Gateway API's `allowedRoutes`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.from != 'Selector' || has(self.selector)").message("spec.allowedNamespaces.selector is required when from is Selector"))]
pub struct AllowedNamespaces {
    /// `Same`: only the integration's namespace; `All`: every namespace; `Selector`:
    /// namespaces whose labels match `selector`.
    #[serde(default)]
    pub from: NamespacesFrom,
    /// Namespace label selector, used with `from: Selector`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

/// Namespace scope of an integration.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum NamespacesFrom {
    /// Only the integration's own namespace.
    #[default]
    Same,
    /// Every namespace.
    All,
    /// Namespaces matching `selector`.
    Selector,
}

/// Inbound SCIM 2.0 endpoint for one identity provider.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimSpec {
    /// Serve `/scim/v2/<namespace>/<integration>/` for this integration.
    #[serde(default)]
    pub enabled: bool,
    /// Rotation of the operator-minted bearer token.
    #[serde(default)]
    pub token_rotation: TokenRotation,
}

/// When the SCIM bearer token is replaced and how long the previous one stays valid. No
/// schedule by default: the token changes only when asked (annotation
/// `lastpass-operator.io/rotate-token`), so an identity provider nobody updates keeps working.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenRotation {
    /// Period between scheduled rotations (e.g. `720h`); none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$"))]
    pub every: Option<String>,
    /// How long the previous token stays valid after a rotation.
    #[serde(default = "default_rotation_overlap")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$"))]
    pub overlap: String,
}

impl Default for TokenRotation {
    fn default() -> Self {
        Self {
            every: None,
            overlap: default_rotation_overlap(),
        }
    }
}

fn default_rotation_overlap() -> String {
    "24h".to_string()
}

/// Pull from LDAP / Active Directory (the AD Connector's job).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.url) && has(self.userBaseDN) && has(self.bindSecretRef)").message("spec.ldap needs url, userBaseDN and bindSecretRef"))]
pub struct LdapSpec {
    /// `ldap://` (StartTLS unless `startTLS: false`) or `ldaps://` URL of the directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^ldaps?://"))]
    pub url: Option<String>,
    /// With an `ldap://` URL, upgrade the connection with StartTLS before binding. `false`
    /// sends the bind password in clear text: only for a directory on loopback or in tests.
    #[serde(default = "default_true", rename = "startTLS")]
    pub start_tls: bool,
    /// Secret (same namespace) with the PEM CA bundle that signs the directory's certificate
    /// (an internal CA). Without it the system's trust store is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_secret_ref: Option<CaSecretRef>,
    /// Secret with keys `bindDN` and `password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_secret_ref: Option<SecretRef>,
    /// Where users are searched (whole subtree).
    #[serde(
        default,
        rename = "userBaseDN",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_base_dn: Option<String>,
    /// LDAP filter selecting users (the AD Connector's user filter).
    #[serde(default = "default_user_filter")]
    pub user_filter: String,
    /// Where groups are searched (whole subtree). Without it no groups are pulled.
    #[serde(
        default,
        rename = "groupBaseDN",
        skip_serializing_if = "Option::is_none"
    )]
    pub group_base_dn: Option<String>,
    /// LDAP filter selecting the groups that become LastPassGroups (the AD Connector's sync
    /// groups). Without it every group under `groupBaseDN` does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_filter: Option<String>,
    /// LDAP filter matching every group entry under `groupBaseDN`, selected or not: nested
    /// groups are followed through all of them.
    #[serde(default = "default_group_object_filter")]
    pub group_object_filter: String,
    /// Group membership and nesting.
    #[serde(default)]
    pub membership: LdapMembership,
    /// When a directory user becomes `suspended: true` in LastPass.
    #[serde(default)]
    pub disabled: LdapDisabled,
    /// Which directory attribute feeds which user field.
    #[serde(default)]
    pub attributes: LdapAttributes,
    /// Entries per page of the paged results control (Active Directory caps pages at 1000).
    #[serde(default = "default_page_size")]
    #[schemars(range(min = 1, max = 10000))]
    pub page_size: i32,
    /// Time allowed to open the connection (TCP and TLS).
    #[serde(default = "default_connect_timeout")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$"))]
    pub connect_timeout: String,
    /// Time allowed for each LDAP operation (bind, each page of a search).
    #[serde(default = "default_operation_timeout")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$"))]
    pub operation_timeout: String,
    /// Pull period.
    #[serde(default = "default_ldap_interval")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$"))]
    pub interval: String,
}

impl Default for LdapSpec {
    fn default() -> Self {
        Self {
            url: None,
            start_tls: true,
            ca_secret_ref: None,
            bind_secret_ref: None,
            user_base_dn: None,
            user_filter: default_user_filter(),
            group_base_dn: None,
            group_filter: None,
            group_object_filter: default_group_object_filter(),
            membership: LdapMembership::default(),
            disabled: LdapDisabled::default(),
            attributes: LdapAttributes::default(),
            page_size: default_page_size(),
            connect_timeout: default_connect_timeout(),
            operation_timeout: default_operation_timeout(),
            interval: default_ldap_interval(),
        }
    }
}

fn default_true() -> bool {
    true
}

fn default_user_filter() -> String {
    "(objectClass=person)".to_string()
}

fn default_group_object_filter() -> String {
    "(|(objectClass=group)(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))".to_string()
}

fn default_page_size() -> i32 {
    500
}

fn default_connect_timeout() -> String {
    "10s".to_string()
}

fn default_operation_timeout() -> String {
    "60s".to_string()
}

fn default_ldap_interval() -> String {
    "15m".to_string()
}

/// Secret holding a PEM CA bundle.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CaSecretRef {
    /// Name of the Secret.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Key of the PEM bundle in the Secret.
    #[serde(default = "default_ca_key")]
    pub key: String,
}

fn default_ca_key() -> String {
    "ca.crt".to_string()
}

/// How group membership is read and how deep nested groups are followed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LdapMembership {
    /// Attribute of a group listing member DNs (users or groups): `member` (AD,
    /// groupOfNames) or `uniqueMember` (groupOfUniqueNames).
    #[serde(default = "default_member_attribute")]
    pub member_attribute: String,
    /// Attribute of a user listing the DNs of its groups, e.g. `memberOf` (AD, or OpenLDAP's
    /// memberof overlay); its edges add to `memberAttribute`'s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_of_attribute: Option<String>,
    /// How many levels of nested groups are followed (1: direct members only). Cycles are
    /// always safe.
    #[serde(default = "default_max_nesting_depth")]
    #[schemars(range(min = 1, max = 100))]
    pub max_nesting_depth: i32,
    /// How nested groups are resolved: `Client` (the default; measured the faster on a
    /// Samba AD DC with 10,000 users and 200 selected groups) or `InChain` (Active Directory).
    #[serde(default)]
    pub nesting: LdapNesting,
}

/// How nested groups are resolved. Both give the same members on the same directory (within
/// `maxNestingDepth`); primary groups (`primaryGroupID`) count in both.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum LdapNesting {
    /// Active Directory only: its `LDAP_MATCHING_RULE_IN_CHAIN` (1.2.840.113556.1.4.1941)
    /// resolves the groups nested in each selected group, one search per selected group, and
    /// users' direct groups come from their `memberOf`; no member list is read and
    /// `maxNestingDepth` does not apply. Refused on a server that is not Active Directory.
    InChain,
    /// Every group's member list is read (every range) and the nesting is flattened by the
    /// operator, down to `maxNestingDepth`.
    #[default]
    Client,
}

impl Default for LdapMembership {
    fn default() -> Self {
        Self {
            member_attribute: default_member_attribute(),
            member_of_attribute: None,
            max_nesting_depth: default_max_nesting_depth(),
            nesting: LdapNesting::default(),
        }
    }
}

fn default_member_attribute() -> String {
    "member".to_string()
}

fn default_max_nesting_depth() -> i32 {
    10
}

/// Which directory users are disabled (the AD Connector's disabled-user action: suspend).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LdapDisabled {
    /// Active Directory: a user whose `userAccountControl` has the ACCOUNTDISABLE bit (2) is
    /// disabled.
    #[serde(default = "default_true")]
    pub user_account_control: bool,
    /// Active Directory: a user whose `accountExpires` lies in the past is disabled (`0` and
    /// `9223372036854775807` mean never).
    #[serde(default = "default_true")]
    pub account_expires: bool,
    /// Other directories: a user with this attribute (e.g. `nsAccountLock`,
    /// `pwdAccountLockedTime`) is disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    /// With `attribute`: only this value (case-insensitive) disables; without it any value
    /// does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl Default for LdapDisabled {
    fn default() -> Self {
        Self {
            user_account_control: true,
            account_expires: true,
            attribute: None,
            value: None,
        }
    }
}

/// Mapping from directory attributes to LastPassUser and LastPassGroup fields.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LdapAttributes {
    /// Attribute holding the e-mail used as LastPass username.
    #[serde(default = "default_username_attribute")]
    pub username: String,
    /// Attribute holding the display name.
    #[serde(default = "default_full_name_attribute")]
    pub full_name: String,
    /// Attribute holding a group's name (the LastPass group name).
    #[serde(default = "default_group_name_attribute")]
    pub group_name: String,
    /// Attribute holding an entry's stable identity (`objectGUID` on Active Directory,
    /// `entryUUID` on OpenLDAP). A user whose username attribute changes under the same
    /// identity keeps its LastPassUser, and the change is reported (`EmailChanged`).
    #[serde(default = "default_stable_id_attribute", rename = "stableID")]
    pub stable_id: String,
    /// Extra user attributes: LastPass attribute name → directory attribute, copied into
    /// `spec.attributes` when the entry has a value (e.g. `department: department`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
}

impl Default for LdapAttributes {
    fn default() -> Self {
        Self {
            username: default_username_attribute(),
            full_name: default_full_name_attribute(),
            group_name: default_group_name_attribute(),
            stable_id: default_stable_id_attribute(),
            extra: BTreeMap::new(),
        }
    }
}

fn default_username_attribute() -> String {
    "mail".to_string()
}

fn default_full_name_attribute() -> String {
    "displayName".to_string()
}

fn default_group_name_attribute() -> String {
    "cn".to_string()
}

fn default_stable_id_attribute() -> String {
    "objectGUID".to_string()
}

/// Observed state of an integration.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryIntegrationStatus {
    /// `Ready`, `CredentialsValid`, `Synced`, `DeprovisionBlocked`, `TokenReady`,
    /// `SeatsExhausted`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The last sync that changed this status: a steady resync writes nothing, so this is not
    /// a heartbeat (the metric `lastpass_operator_last_successful_sync_timestamp_seconds` is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "optional_time_schema")]
    pub last_sync_time: Option<Time>,
    /// Users of the account by state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<UserCounts>,
    /// The last computed plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanSummary>,
    /// Up to 20 LastPass users, not disabled, that no resource declares (under `Report` and
    /// `Adopt`; `Ignore` reports none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub unmanaged_sample: Vec<String>,
    /// The SCIM endpoint and its token, when `spec.scim.enabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim: Option<ScimStatus>,
    /// The last LDAP / Active Directory pull, when `spec.ldap` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ldap: Option<LdapStatus>,
    /// The destructive part of the plan the safeguard holds, while one is held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<super::HeldPlan>,
    /// The safeguard's memory: destructive changes executed in the window, approvals used,
    /// plans rejected. Read back at every sync, so a restart or fail-over never resets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safeguard: Option<super::SafeguardStatus>,
    /// Revocation latency over the last 24 hours; absent until a revocation happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation: Option<super::RevocationStatus>,
}

/// Outcome of the last LDAP pull. Written by the LDAP puller only (field manager
/// `lastpass-operator-ldap`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LdapStatus {
    /// When the last pull that changed this status finished, successful or not: a pull that
    /// changes nothing else writes nothing (the `lastpass_operator_ldap_pulls_total` metric
    /// counts every pull).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "optional_time_schema")]
    pub last_pull_time: Option<Time>,
    /// When the last pull that reached the directory, wrote resources and changed this status
    /// finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "optional_time_schema")]
    pub last_success_time: Option<Time>,
    /// How long the last pull that changed this status took, e.g. `1.2s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_pull_duration: Option<String>,
    /// User entries the user search returned.
    #[serde(default)]
    pub users_seen: i64,
    /// Group entries under `groupBaseDN` (selected or not).
    #[serde(default)]
    pub groups_seen: i64,
    /// LastPassUsers of this integration with source `ldap` after the pull.
    #[serde(default)]
    pub users_managed: i64,
    /// LastPassGroups of this integration with source `ldap` after the pull.
    #[serde(default)]
    pub groups_managed: i64,
    /// Resources created, updated and deleted by the last pull.
    #[serde(default)]
    pub created: i64,
    /// See `created`.
    #[serde(default)]
    pub updated: i64,
    /// See `created`.
    #[serde(default)]
    pub deleted: i64,
    /// Directory entries not turned into resources (no or invalid username, duplicate
    /// e-mail, name claimed by another source).
    #[serde(default)]
    pub skipped: i64,
    /// Up to 20 reasons for skipped entries, for people to read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub problems: Vec<String>,
    /// The error of the last pull, empty after a successful one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The deletions of the last pull, held by the safeguard (`LdapDeletionsHeld`) until the
    /// annotation `lastpass-operator.io/approve-plan` or `reject-plan` names its `pullId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<LdapHeldPull>,
    /// Pull ids whose approval was used (the most recent 50): an approval runs once, and
    /// the engine trusts a deleted user's `lastpass-operator.io/approved-plan` only if its id
    /// is listed here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub consumed_approvals: Vec<String>,
    /// Pull ids rejected with `lastpass-operator.io/reject-plan` (the most recent 50): their
    /// deletions never run; the resources stay.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub rejected: Vec<String>,
}

/// Deletions of an LDAP pull held by the safeguard.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LdapHeldPull {
    /// `ldap-` and the SHA-256 of the deletion set: the value to approve or reject it with.
    pub pull_id: String,
    /// LastPassUsers the pull would delete.
    pub users: i64,
    /// LastPassGroups the pull would delete.
    pub groups: i64,
    /// LDAP-sourced LastPassUsers managed before the pull.
    pub managed_users: i64,
    /// User entries the directory returned.
    pub users_seen: i64,
    /// Up to 20 resources the pull would delete.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub sample: Vec<String>,
}

/// Users of the account by state.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserCounts {
    /// Users declared by a resource of this integration.
    pub managed: i64,
    /// Managed users that have logged in.
    pub active: i64,
    /// Managed users invited but not yet logged in.
    pub invited: i64,
    /// Managed users disabled on purpose (`suspended: true`).
    pub suspended: i64,
    /// LastPass users, not disabled, that no resource declares.
    pub unmanaged: i64,
    /// Deprovisions waiting (blocked by the budget, or in flight).
    pub pending_deprovision: i64,
}

/// Summary of the last computed plan.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanSummary {
    /// SHA-256 digest of the plan's destructive part (deprovisions, suspensions, membership
    /// removals); when all of it is held, the id in `status.held` to approve or reject.
    pub id: String,
    /// Users to invite.
    pub creates: i64,
    /// Users whose name, attributes or state change.
    pub updates: i64,
    /// Group membership additions and removals.
    pub group_changes: i64,
    /// Users to deprovision.
    pub deprovisions: i64,
    /// Up to 20 items of the plan, for people to read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub sample: Vec<PlanItem>,
}

/// One planned change, for people to read.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanItem {
    /// What would be done: `Create`, `Update`, `Suspend`, `Enable`, `AddToGroup`,
    /// `RemoveFromGroup`, `Deprovision`.
    pub action: String,
    /// The LastPass username concerned.
    pub username: String,
    /// Detail, such as the group name or the deprovision action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// State of the SCIM endpoint of an integration.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimStatus {
    /// Path (relative to the operator's SCIM address) identity providers push to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Secret holding the current bearer token (key `token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_secret_name: Option<String>,
    /// When the current token was minted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "optional_time_schema")]
    pub token_rotated_at: Option<Time>,
    /// When the current token is replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "optional_time_schema")]
    pub token_expires_at: Option<Time>,
}
