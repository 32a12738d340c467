//! `application/x-www-form-urlencoded` decoding, for OAuth form posts and `?arg=` /
//! `?rev=` query parameters.

/// Decodes one `application/x-www-form-urlencoded` query parameter.
#[must_use]
pub fn url_query_param(query: &str, key: &str) -> Option<String> {
    form_pairs(query.as_bytes())
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// Decodes a form body or query string into pairs.
#[must_use]
pub fn form_pairs(input: &[u8]) -> Vec<(String, String)> {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    fn decode(part: &[u8]) -> String {
        let mut out = Vec::with_capacity(part.len());
        let mut i = 0;
        while i < part.len() {
            match part[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < part.len() => match (hex(part[i + 1]), hex(part[i + 2])) {
                    (Some(hi), Some(lo)) => {
                        out.push(hi * 16 + lo);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                },
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    input
        .split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let mut it = pair.splitn(2, |&b| b == b'=');
            let k = decode(it.next().unwrap_or_default());
            let v = decode(it.next().unwrap_or_default());
            (k, v)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding_handles_escapes() {
        let pairs = form_pairs(b"a=1&redirect_uri=http%3A%2F%2Fx%2Fy&s=a+b&bad=%zz&t=%4");
        assert_eq!(pairs[1].1, "http://x/y");
        assert_eq!(pairs[2].1, "a b");
        assert_eq!(pairs[3].1, "%zz");
        assert_eq!(pairs[4].1, "%4");
        assert_eq!(url_query_param("arg=%7B%7D", "arg").as_deref(), Some("{}"));
    }
}
