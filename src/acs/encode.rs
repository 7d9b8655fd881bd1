//! RFC 3986 percent-encoding as both signatures use it: UTF-8, upper-case
//! hex, everything but the unreserved characters `A-Z a-z 0-9 - . _ ~`
//! encoded (so a space is `%20`, `*` is `%2A`, `/` is `%2F`).

/// Percent-encodes `s` per RFC 3986.
pub fn percent_encode(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len() + s.len() / 2);
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    crate::text::hex(bytes)
}

/// The canonical query of ACS3: decoded pairs re-encoded, sorted by key
/// (then value), joined by `&`; an empty value gives `key=`.
pub fn canonical_query(pairs: &[(String, String)]) -> String {
    let mut enc: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    enc.sort();
    enc.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3986_as_the_sdks() {
        assert_eq!(percent_encode("a b*c/d+e~f"), "a%20b%2Ac%2Fd%2Be~f");
        assert_eq!(percent_encode("ü"), "%C3%BC");
        // §4 step 3 of the wire reference: the wire query decoded, then
        // canonicalised.
        let wire = "Id=a+b%2Fc~%2A%2B%3D%26%C3%BC%27%28%29%21";
        let pairs: Vec<(String, String)> = form_urlencoded::parse(wire.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(
            canonical_query(&pairs),
            "Id=a%20b%2Fc~%2A%2B%3D%26%C3%BC%27%28%29%21"
        );
        assert_eq!(canonical_query(&[]), "");
        let p = vec![("b".into(), "".into()), ("a".into(), "2".into())];
        assert_eq!(canonical_query(&p), "a=2&b=");
    }
}
