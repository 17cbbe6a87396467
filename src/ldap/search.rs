//! Paged subtree searches (the paged results control of RFC 2696, which Active Directory
//! requires beyond 1,000 entries) into plain [`Entry`] values.

use std::collections::BTreeMap;

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{LdapError, Scope, SearchEntry};

use super::Error;
use super::connect::Session;

/// One directory entry: its DN and its attributes, names lower-cased (LDAP attribute names
/// are case-insensitive).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// Distinguished name as the server wrote it.
    pub dn: String,
    /// Attribute values by lower-cased attribute name.
    pub attrs: BTreeMap<String, Vec<String>>,
    /// Values that are not UTF-8 (e.g. `objectGUID`, `objectSid`), by lower-cased name.
    pub bin: BTreeMap<String, Vec<Vec<u8>>>,
}

impl Entry {
    /// Builds an entry (test helper and mapping of ldap3's entries).
    pub fn new<'a>(dn: &str, attrs: impl IntoIterator<Item = (&'a str, Vec<&'a str>)>) -> Self {
        Self {
            dn: dn.to_string(),
            attrs: attrs
                .into_iter()
                .map(|(k, v)| {
                    (
                        k.to_ascii_lowercase(),
                        v.into_iter().map(String::from).collect(),
                    )
                })
                .collect(),
            bin: BTreeMap::new(),
        }
    }

    /// Adds binary values of an attribute (test helper).
    pub fn with_binary(mut self, attr: &str, values: Vec<Vec<u8>>) -> Self {
        self.bin.insert(attr.to_ascii_lowercase(), values);
        self
    }

    /// The first value of an attribute as bytes, whether the server's value happened to be
    /// UTF-8 or not (a random GUID sometimes is).
    pub fn first_bytes(&self, attr: &str) -> Option<Vec<u8>> {
        let key = attr.to_ascii_lowercase();
        self.bin
            .get(&key)
            .and_then(|v| v.first().cloned())
            .or_else(|| {
                self.attrs
                    .get(&key)
                    .and_then(|v| v.first())
                    .map(|v| v.clone().into_bytes())
            })
    }

    /// All values of an attribute (case-insensitive name).
    pub fn values(&self, attr: &str) -> &[String] {
        self.attrs
            .get(&attr.to_ascii_lowercase())
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The first non-empty value of an attribute, trimmed.
    pub fn first(&self, attr: &str) -> Option<&str> {
        self.values(attr)
            .iter()
            .map(|v| v.trim())
            .find(|v| !v.is_empty())
    }
}

/// Searches `base` (whole subtree) with `filter` in pages of `page_size`, returning every
/// entry with the requested attributes. Referrals are ignored.
pub async fn paged_search(
    session: &mut Session,
    base: &str,
    filter: &str,
    attrs: &[String],
    page_size: i32,
) -> Result<Vec<Entry>, Error> {
    let search_err = |detail: String| Error::Search {
        base: base.to_string(),
        filter: filter.to_string(),
        detail,
    };
    let classify = |e: LdapError| match e {
        LdapError::Timeout { .. } => Error::Timeout {
            step: "search",
            url: session.url.clone(),
            after: session.operation_timeout,
        },
        other => search_err(other.to_string()),
    };
    let adapters: Vec<Box<dyn Adapter<_, _>>> = vec![
        Box::new(EntriesOnly::new()),
        Box::new(PagedResults::new(page_size)),
    ];
    let attrs: Vec<String> = if attrs.is_empty() {
        vec!["1.1".to_string()] // the DN only
    } else {
        attrs.to_vec()
    };
    let mut ldap = session.ldap.clone();
    let mut stream = ldap
        .with_timeout(session.operation_timeout)
        .streaming_search_with(adapters, base, Scope::Subtree, filter, attrs)
        .await
        .map_err(classify)?;
    let mut out = Vec::new();
    while let Some(raw) = stream.next().await.map_err(classify)? {
        out.push(entry(SearchEntry::construct(raw)));
    }
    let res = stream.finish().await;
    match res.rc {
        0 => Ok(out),
        rc => Err(search_err(describe(rc, &res.text))),
    }
}

fn entry(e: SearchEntry) -> Entry {
    let mut attrs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in e.attrs {
        attrs.entry(k.to_ascii_lowercase()).or_default().extend(v);
    }
    let mut bin: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    for (k, v) in e.bin_attrs {
        bin.entry(k.to_ascii_lowercase()).or_default().extend(v);
    }
    Entry {
        dn: e.dn,
        attrs,
        bin,
    }
}

/// Reads one entry (base scope) with the requested attributes; `None` when it is gone.
pub async fn read_entry(
    session: &mut Session,
    dn: &str,
    attrs: &[String],
) -> Result<Option<Entry>, Error> {
    let search_err = |detail: String| Error::Search {
        base: dn.to_string(),
        filter: "(objectClass=*)".into(),
        detail,
    };
    let mut ldap = session.ldap.clone();
    let res = ldap
        .with_timeout(session.operation_timeout)
        .search(dn, Scope::Base, "(objectClass=*)", attrs.to_vec())
        .await;
    let (entries, result) = match res {
        Ok(r) => (r.0, r.1),
        Err(LdapError::Timeout { .. }) => {
            return Err(Error::Timeout {
                step: "search",
                url: session.url.clone(),
                after: session.operation_timeout,
            });
        }
        Err(e) => return Err(search_err(e.to_string())),
    };
    match result.rc {
        0 => Ok(entries
            .into_iter()
            .next()
            .map(|r| entry(SearchEntry::construct(r)))),
        32 => Ok(None),
        rc => Err(search_err(describe(rc, &result.text))),
    }
}

/// A search result code with a hint of what to do.
fn describe(rc: u32, text: &str) -> String {
    let hint = match rc {
        3 => "the server's time limit was hit; raise it or narrow the filter",
        4 => {
            "the server's size limit was hit despite paging; lower spec.ldap.pageSize or raise the bind account's limits"
        }
        10 => "referral: the base DN lives on another server; point the URL at it",
        11 => "administrative limit exceeded; lower spec.ldap.pageSize",
        32 => "no such object: check the base DN",
        50 => "insufficient access: grant the bind account read access",
        87 => "the filter is invalid",
        _ => "see the directory's logs",
    };
    if text.is_empty() {
        format!("LDAP result {rc}; {hint}")
    } else {
        format!("LDAP result {rc} ({text}); {hint}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_names_are_case_insensitive() {
        let e = Entry::new("cn=a", [("displayName", vec![" ", "Ann "])]);
        assert_eq!(e.first("DISPLAYNAME"), Some("Ann"));
        assert!(e.values("mail").is_empty());
    }

    #[test]
    fn size_limit_errors_say_what_to_do() {
        assert!(describe(4, "").contains("pageSize"));
        assert!(describe(32, "x").contains("base DN"));
    }
}
