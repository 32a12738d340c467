//! Salesforce record ids: 15-character case-sensitive ids, the 18-character case-safe form
//! with its checksum suffix, and the emulator's mapping between ids and table rows.
//!
//! An id is `prefix(3) pod(2) 0 counter(9, base 62)`; the emulator derives the counter from
//! the row number so an id maps back to its row without an index, and the API only ever
//! shows the 18-character form, as Salesforce does.

/// Base-62 digits in Salesforce's order (digits, upper case, lower case).
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// The checksum alphabet: one character per 5-bit group.
const CHECKSUM: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
/// Row counters start here so generated ids look like real ones (`001Kx00000AbCdEFGH`).
const ROW_BASE: u64 = 62u64.pow(5) * 3;
/// Nine base-62 digits.
const COUNTER_SPACE: u64 = 62u64.pow(9);

/// The three checksum characters that turn a 15-character id into the 18-character form.
pub fn checksum(id15: &[u8; 15]) -> [u8; 3] {
    let mut out = [0u8; 3];
    for (block, slot) in out.iter_mut().enumerate() {
        let mut bits = 0usize;
        for i in 0..5 {
            if id15[block * 5 + i].is_ascii_uppercase() {
                bits |= 1 << i;
            }
        }
        *slot = CHECKSUM[bits];
    }
    out
}

/// Encodes a record id from its object's key prefix, the org's pod and a row number.
pub fn encode(prefix: &str, pod: [u8; 2], row: u32) -> String {
    encode_counter(prefix, pod, ROW_BASE + u64::from(row))
}

/// Encodes an id from a raw counter (used for non-record ids such as locators and jobs).
pub fn encode_counter(prefix: &str, pod: [u8; 2], counter: u64) -> String {
    let mut id15 = [b'0'; 15];
    let p = prefix.as_bytes();
    id15[..3].copy_from_slice(&p[..3.min(p.len())]);
    id15[3] = pod[0];
    id15[4] = pod[1];
    id15[5] = b'0';
    let mut n = counter % COUNTER_SPACE;
    for slot in id15[6..].iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    let sum = checksum(&id15);
    let mut s = String::with_capacity(18);
    s.extend(id15.iter().map(|&b| b as char));
    s.extend(sum.iter().map(|&b| b as char));
    s
}

/// Writes the 18-character id into `out` without allocating (the query hot path).
pub fn write_id(out: &mut Vec<u8>, prefix: &[u8; 3], pod: [u8; 2], row: u32) {
    let mut id15 = [b'0'; 15];
    id15[..3].copy_from_slice(prefix);
    id15[3] = pod[0];
    id15[4] = pod[1];
    let mut n = (ROW_BASE + u64::from(row)) % COUNTER_SPACE;
    for slot in id15[6..].iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out.extend_from_slice(&id15);
    out.extend_from_slice(&checksum(&id15));
}

/// A syntactically valid id, split into its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedId {
    /// The 3-character key prefix.
    pub prefix: [u8; 3],
    /// The 2-character pod.
    pub pod: [u8; 2],
    /// The 9-digit base-62 counter.
    pub counter: u64,
}

impl ParsedId {
    /// The row this id names, if it was minted by [`encode`].
    pub fn row(&self) -> Option<u32> {
        self.counter
            .checked_sub(ROW_BASE)
            .and_then(|r| u32::try_from(r).ok())
    }

    /// The prefix as text.
    pub fn prefix_str(&self) -> &str {
        std::str::from_utf8(&self.prefix).unwrap_or("")
    }
}

/// Parses a 15- or 18-character id. The 18-character form's suffix must match the
/// checksum of the first 15 characters compared case-insensitively, as Salesforce does.
pub fn parse(id: &str) -> Option<ParsedId> {
    let b = id.as_bytes();
    if !(b.len() == 15 || b.len() == 18) || !b.iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    let mut id15 = [0u8; 15];
    id15.copy_from_slice(&b[..15]);
    if b.len() == 18 {
        let expected = checksum(&id15);
        if !b[15..]
            .iter()
            .zip(expected.iter())
            .all(|(a, e)| a.eq_ignore_ascii_case(e))
        {
            return None;
        }
    }
    let mut counter = 0u64;
    for &c in &id15[6..] {
        let d = BASE62.iter().position(|&x| x == c)? as u64;
        counter = counter * 62 + d;
    }
    Some(ParsedId {
        prefix: [id15[0], id15[1], id15[2]],
        pod: [id15[3], id15[4]],
        counter,
    })
}

/// Normalises a 15- or 18-character id to the 18-character form.
pub fn to_18(id: &str) -> Option<String> {
    parse(id)?;
    let mut id15 = [0u8; 15];
    id15.copy_from_slice(&id.as_bytes()[..15]);
    let sum = checksum(&id15);
    let mut s: String = id[..15].to_owned();
    s.extend(sum.iter().map(|&b| b as char));
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_known_real_ids() {
        // Real ids from Salesforce documentation examples.
        assert_eq!(to_18("001D000000IRFma").unwrap(), "001D000000IRFmaIAH");
        assert_eq!(to_18("a00D0000008pQR5").unwrap(), "a00D0000008pQR5IAM");
    }

    #[test]
    fn encode_parse_round_trip() {
        for row in [0u32, 1, 61, 62, 1_000_000, u32::MAX / 4] {
            let id = encode("003", *b"Kx", row);
            assert_eq!(id.len(), 18);
            assert!(id.starts_with("003Kx0"));
            let parsed = parse(&id).unwrap();
            assert_eq!(parsed.row(), Some(row));
            assert_eq!(parsed.prefix_str(), "003");
            let mut buf = Vec::new();
            write_id(&mut buf, b"003", *b"Kx", row);
            assert_eq!(buf, id.as_bytes());
            // The 15-character form parses to the same row.
            assert_eq!(parse(&id[..15]).unwrap().row(), Some(row));
            // The suffix is case-insensitive.
            let lower = format!("{}{}", &id[..15], id[15..].to_ascii_lowercase());
            assert_eq!(parse(&lower).unwrap().row(), Some(row));
        }
    }

    #[test]
    fn bad_ids_are_rejected() {
        assert!(parse("").is_none());
        assert!(parse("001D000000IRFmaIAX").is_none(), "wrong checksum");
        assert!(parse("001D000000IRFm").is_none(), "14 chars");
        assert!(parse("001D000000IRF-aIAH").is_none(), "bad char");
    }
}
