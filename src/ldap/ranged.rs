//! Ranged retrieval of large multi-valued attributes (Active Directory's `member;range=L-H`):
//! a server returns at most `MaxValRange` values (1,500 on Windows) of a group's `member` per
//! read, and names the chunk it returned; the rest is read chunk by chunk until a chunk ends
//! in `*`. Reading only the first chunk would drop every later member.

use super::Error;
use super::ad::{self, Range};
use super::connect::Session;
use super::search::{self, Entry};

/// Merges every chunk of `attr` of `entry` into `entry.attrs[attr]`, reading the chunks the
/// server has not returned yet. `step`: values per follow-up read, `None` to let the server
/// choose. An entry without a ranged `attr` is left as it is.
pub async fn complete(
    session: &mut Session,
    entry: &mut Entry,
    attr: &str,
    step: Option<u64>,
) -> Result<(), Error> {
    let key = attr.to_ascii_lowercase();
    let mut next = take_chunks(entry, &key);
    while let Some(from) = next {
        let request = [ad::range_request(attr, from, step)];
        let chunk = search::read_entry(session, &entry.dn, &request).await?;
        let Some(mut chunk) = chunk else {
            return Err(stopped(entry, attr, from, "the entry disappeared"));
        };
        let got = ranged_keys(&chunk, &key);
        let Some((_, range)) = got.first() else {
            return Err(stopped(
                entry,
                attr,
                from,
                "the server returned no further range",
            ));
        };
        if range.low != from {
            return Err(stopped(
                entry,
                attr,
                from,
                "the server returned another range",
            ));
        }
        let values = take_all(&mut chunk, &key);
        entry.attrs.entry(key.clone()).or_default().extend(values);
        next = range.high.map(|h| h + 1);
    }
    Ok(())
}

/// The ranged descriptions of `key` in an entry, by the order of their first index.
fn ranged_keys(entry: &Entry, key: &str) -> Vec<(String, Range)> {
    let mut out: Vec<(String, Range)> = entry
        .attrs
        .keys()
        .chain(entry.bin.keys())
        .filter_map(|k| ad::parse_range(k, key).map(|r| (k.clone(), r)))
        .collect();
    out.sort_by_key(|(_, r)| r.low);
    out
}

/// Moves every value of `key`'s ranged descriptions into the plain `key`; returns the index
/// to read next, if the last chunk did not end in `*`.
fn take_chunks(entry: &mut Entry, key: &str) -> Option<u64> {
    let ranged = ranged_keys(entry, key);
    let next = ranged.last().and_then(|(_, r)| r.high.map(|h| h + 1));
    let values = take_all(entry, key);
    if !values.is_empty() {
        entry.attrs.insert(key.to_string(), values);
    }
    next
}

/// Removes the plain and ranged values of `key` and returns them in range order.
fn take_all(entry: &mut Entry, key: &str) -> Vec<String> {
    let mut values = entry.attrs.remove(key).unwrap_or_default();
    for (k, _) in ranged_keys(entry, key) {
        values.extend(entry.attrs.remove(&k).unwrap_or_default());
        entry.bin.remove(&k);
    }
    values
}

fn stopped(entry: &Entry, attr: &str, from: u64, why: &str) -> Error {
    Error::Search {
        base: entry.dn.clone(),
        filter: "(objectClass=*)".into(),
        detail: format!(
            "ranged retrieval of {attr} stopped at value {from}: {why}; the group is not synced rather than synced short"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_merge_in_order_and_tell_what_is_next() {
        let mut e = Entry::new(
            "cn=g",
            [
                ("member;range=2-3", vec!["c", "d"]),
                ("member;range=0-1", vec!["a", "b"]),
                ("cn", vec!["g"]),
            ],
        );
        assert_eq!(take_chunks(&mut e, "member"), Some(4));
        assert_eq!(e.values("member"), ["a", "b", "c", "d"]);
        assert_eq!(e.attrs.len(), 2, "ranged keys removed: {:?}", e.attrs);

        let mut last = Entry::new("cn=g", [("member;range=0-*", vec!["a"])]);
        assert_eq!(take_chunks(&mut last, "member"), None);
        assert_eq!(last.values("member"), ["a"]);

        let mut plain = Entry::new("cn=g", [("member", vec!["a"])]);
        assert_eq!(take_chunks(&mut plain, "member"), None);
        assert_eq!(plain.values("member"), ["a"]);
    }
}
