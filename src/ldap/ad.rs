//! Active Directory's encodings, decoded: binary SIDs and GUIDs, `accountExpires`, ranged
//! attribute names (`member;range=0-1499`), and the root DSE's AD capability. No I/O.

use std::fmt::Write as _;

/// `supportedCapabilities` value of an Active Directory (or Samba AD) domain controller:
/// LDAP_CAP_ACTIVE_DIRECTORY_OID.
pub const CAP_ACTIVE_DIRECTORY: &str = "1.2.840.113556.1.4.800";

/// The extensible-match rule that follows nesting on the server: LDAP_MATCHING_RULE_IN_CHAIN.
pub const MATCHING_RULE_IN_CHAIN: &str = "1.2.840.113556.1.4.1941";

/// `accountExpires` value meaning "never" besides `0`.
pub const NEVER_EXPIRES: i64 = i64::MAX;

/// Seconds between 1601-01-01 (the FILETIME epoch) and 1970-01-01.
const FILETIME_UNIX_OFFSET_SECS: i64 = 11_644_473_600;

/// The string form (`S-1-5-21-…-513`) of a binary SID (MS-DTYP 2.4.2.2), or `None` when the
/// bytes are not a SID.
pub fn sid_to_string(b: &[u8]) -> Option<String> {
    let (&revision, &count) = (b.first()?, b.get(1)?);
    let count = usize::from(count);
    if b.len() != 8 + 4 * count {
        return None;
    }
    let authority = b[2..8]
        .iter()
        .fold(0u64, |acc, x| (acc << 8) | u64::from(*x));
    let mut s = format!("S-{revision}-{authority}");
    for chunk in b[8..].chunks_exact(4) {
        let sub = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        let _ = write!(s, "-{sub}");
    }
    Some(s)
}

/// The SID of the primary group of a user: its domain (the user's SID without the last
/// sub-authority) and the group's RID (`primaryGroupID`).
pub fn primary_group_sid(user_sid: &str, primary_group_id: &str) -> Option<String> {
    let rid: u32 = primary_group_id.trim().parse().ok()?;
    let (domain, _) = user_sid.rsplit_once('-')?;
    Some(format!("{domain}-{rid}"))
}

/// AD's textual GUID form (`{…}` without braces, lower-case) of a 16-byte `objectGUID`: the
/// first three fields are little-endian. Other lengths are shown as hex.
pub fn guid_to_string(b: &[u8]) -> String {
    let hex = |bytes: &[u8]| {
        bytes.iter().fold(String::new(), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        })
    };
    if b.len() != 16 {
        return hex(b);
    }
    let rev = |r: &[u8]| r.iter().rev().copied().collect::<Vec<u8>>();
    format!(
        "{}-{}-{}-{}-{}",
        hex(&rev(&b[0..4])),
        hex(&rev(&b[4..6])),
        hex(&rev(&b[6..8])),
        hex(&b[8..10]),
        hex(&b[10..16])
    )
}

/// Whether an `accountExpires` value (100 ns intervals since 1601-01-01 UTC) lies at or before
/// `now` (Unix seconds). `0`, `9223372036854775807` and unparsable values never expire.
pub fn account_expired(value: &str, now_unix_secs: i64) -> bool {
    match value.trim().parse::<i64>() {
        Ok(0) | Ok(NEVER_EXPIRES) | Err(_) => false,
        Ok(v) if v < 0 => false,
        Ok(v) => v / 10_000_000 - FILETIME_UNIX_OFFSET_SECS <= now_unix_secs,
    }
}

/// The `accountExpires` value of a Unix time (for tests and tools).
pub fn account_expires_at(unix_secs: i64) -> i64 {
    (unix_secs + FILETIME_UNIX_OFFSET_SECS) * 10_000_000
}

/// A ranged attribute description as a server returns it: `member;range=1500-2999` or
/// `member;range=1500-*` (the last chunk).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// Index of the first value in this chunk.
    pub low: u64,
    /// Index of the last value, or `None` for `*` (no more values).
    pub high: Option<u64>,
}

/// Parses `attr;range=L-H` for the attribute `attr` (case-insensitive); `None` for any other
/// description.
pub fn parse_range(description: &str, attr: &str) -> Option<Range> {
    let (base, options) = description.split_once(';')?;
    if !base.eq_ignore_ascii_case(attr) {
        return None;
    }
    let spec = options.split(';').find_map(|o| {
        o.get(..6)
            .filter(|p| p.eq_ignore_ascii_case("range="))
            .map(|_| &o[6..])
    })?;
    let (low, high) = spec.split_once('-')?;
    let low = low.parse().ok()?;
    let high = match high {
        "*" => None,
        h => Some(h.parse().ok()?),
    };
    Some(Range { low, high })
}

/// The attribute description asking for values `from` onwards: `step` values, or all the
/// server allows with `None`.
pub fn range_request(attr: &str, from: u64, step: Option<u64>) -> String {
    match step {
        Some(n) => format!("{attr};range={from}-{}", from + n.max(1) - 1),
        None => format!("{attr};range={from}-*"),
    }
}

/// Escapes a DN for use as an assertion value in a filter (RFC 4515).
pub fn escape_filter_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '*' => out.push_str("\\2a"),
            '(' => out.push_str("\\28"),
            ')' => out.push_str("\\29"),
            '\\' => out.push_str("\\5c"),
            '\0' => out.push_str("\\00"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids_decode_and_primary_groups_share_the_domain() {
        // S-1-5-21-1-2-3-1105, as AD stores it.
        let mut b = vec![1u8, 5, 0, 0, 0, 0, 0, 5];
        for sub in [21u32, 1, 2, 3, 1105] {
            b.extend(sub.to_le_bytes());
        }
        let sid = sid_to_string(&b).unwrap();
        assert_eq!(sid, "S-1-5-21-1-2-3-1105");
        assert_eq!(
            primary_group_sid(&sid, "513").as_deref(),
            Some("S-1-5-21-1-2-3-513")
        );
        assert_eq!(sid_to_string(&b[..b.len() - 1]), None, "truncated");
        assert_eq!(primary_group_sid(&sid, "x"), None);
    }

    #[test]
    fn guids_read_little_endian_fields() {
        let b: Vec<u8> = (0u8..16).collect();
        assert_eq!(guid_to_string(&b), "03020100-0504-0706-0809-0a0b0c0d0e0f");
        assert_eq!(guid_to_string(&[0xab, 0x01]), "ab01");
    }

    #[test]
    fn account_expiry() {
        let now = 1_800_000_000;
        assert!(!account_expired("0", now), "0 is never");
        assert!(!account_expired("9223372036854775807", now), "max is never");
        assert!(!account_expired("soon", now));
        assert!(account_expired(
            &account_expires_at(now - 60).to_string(),
            now
        ));
        assert!(account_expired(&account_expires_at(now).to_string(), now));
        assert!(!account_expired(
            &account_expires_at(now + 60).to_string(),
            now
        ));
        // 2001-01-01T00:00:00Z, a known FILETIME.
        assert!(account_expired("126227808000000000", 978_307_200));
        assert!(!account_expired("126227808000000000", 978_307_199));
    }

    #[test]
    fn ranges_parse() {
        let r = |d| parse_range(d, "member");
        assert_eq!(
            r("member;range=0-1499"),
            Some(Range {
                low: 0,
                high: Some(1499)
            })
        );
        assert_eq!(
            r("Member;Range=1500-*"),
            Some(Range {
                low: 1500,
                high: None
            })
        );
        assert_eq!(r("member"), None);
        assert_eq!(r("memberOf;range=0-1"), None);
        assert_eq!(r("member;range=x-1"), None);
        assert_eq!(
            range_request("member", 500, Some(500)),
            "member;range=500-999"
        );
        assert_eq!(range_request("member", 0, None), "member;range=0-*");
    }

    #[test]
    fn filter_values_are_escaped() {
        assert_eq!(
            escape_filter_value(r"CN=a (b)\,*,DC=x"),
            r"CN=a \28b\29\5c,\2a,DC=x"
        );
    }
}
