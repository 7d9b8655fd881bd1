//! The parameters of one API call: the query and the form body merged (the
//! SDKs put `SiteId` in the query and the rest in the body; pop-core puts
//! everything, `Action` included, in the body), decoded by the url crate's
//! form decoder, with ESA's parsing rules for each kind of value.

use crate::base::limits::MAX_HOSTNAMES;
use crate::error::{ErrorCode, EsaError, EsaResult};
use crate::text::{clip, quoted};

/// Most parameters one request may carry (an ESA call has a dozen).
pub const MAX_PARAMS: usize = 256;

#[derive(Debug, Default, Clone)]
pub struct Params {
    /// Decoded pairs of the query, in wire order.
    pub query: Vec<(String, String)>,
    /// Decoded pairs of the form body, in wire order.
    pub form: Vec<(String, String)>,
}

impl Params {
    /// Decodes a query string and (when it is a form) a body.
    pub fn decode(query: Option<&str>, form_body: Option<&[u8]>) -> EsaResult<Params> {
        let pairs = |bytes: &[u8]| -> Vec<(String, String)> {
            form_urlencoded::parse(bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        };
        let p = Params {
            query: query.map(|q| pairs(q.as_bytes())).unwrap_or_default(),
            form: form_body.map(pairs).unwrap_or_default(),
        };
        if p.query.len() + p.form.len() > MAX_PARAMS {
            return Err(EsaError::new(
                ErrorCode::InvalidParameter,
                format!("more than {MAX_PARAMS} parameters"),
            ));
        }
        Ok(p)
    }

    fn all(&self) -> impl Iterator<Item = &(String, String)> {
        self.query.iter().chain(&self.form)
    }

    /// The first value of `key` (query first, then body).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.all().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// A required text value; `code` names what is missing.
    pub fn required(&self, key: &str, code: ErrorCode) -> EsaResult<&str> {
        self.get(key)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| EsaError::new(code, format!("{key} is required")))
    }

    /// A positive page parameter with its default.
    pub fn page(&self, key: &str, default: u64) -> EsaResult<u64> {
        match self.get(key).map(str::trim) {
            None | Some("") => Ok(default),
            Some(v) => v.parse::<u64>().map_err(|_| {
                EsaError::new(
                    ErrorCode::InvalidParameter,
                    format!("{key} {} is not a number", quoted(&clip(v, 40))),
                )
            }),
        }
    }

    /// `Hostnames`: a JSON array of strings (what the SDKs send), or
    /// `Hostnames.1`, `Hostnames.2`, ... (what pop-core sends).
    pub fn hostnames(&self) -> EsaResult<Vec<String>> {
        let bad = |m: String| EsaError::new(ErrorCode::InvalidHostnames, m);
        if let Some(json) = self.get("Hostnames") {
            let list: Vec<String> = serde_json::from_str(json).map_err(|_| {
                bad("Hostnames must be a JSON array of strings, such as [\"a.example.com\"]".into())
            })?;
            return Ok(list);
        }
        let mut numbered: Vec<(usize, &str)> = Vec::new();
        for (k, v) in self.all() {
            if let Some(n) = k.strip_prefix("Hostnames.") {
                let n: usize = n
                    .parse()
                    .ok()
                    .filter(|&n| (1..=MAX_HOSTNAMES + 1).contains(&n))
                    .ok_or_else(|| {
                        bad(format!(
                            "{} is not a Hostnames.N parameter",
                            quoted(&clip(k, 40))
                        ))
                    })?;
                if numbered.iter().any(|(m, _)| *m == n) {
                    return Err(bad(format!("Hostnames.{n} is given twice")));
                }
                numbered.push((n, v));
            }
        }
        if numbered.is_empty() {
            return Err(bad(
                "Hostnames is required (a JSON array; [] clears the binding)".into(),
            ));
        }
        numbered.sort_unstable();
        Ok(numbered.into_iter().map(|(_, v)| v.to_owned()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_body_merge_and_decode() {
        let p = Params::decode(
            Some("SiteId=123&Id=a+b%2Fc"),
            Some(b"CSR=-----BEGIN%0Ax&ValidityDays=365"),
        )
        .unwrap();
        assert_eq!(p.get("SiteId"), Some("123"));
        assert_eq!(p.get("Id"), Some("a b/c"));
        assert_eq!(p.get("CSR"), Some("-----BEGIN\nx"));
        assert_eq!(p.page("PageSize", 20).unwrap(), 20);
        assert!(
            Params::decode(Some("PageSize=x"), None)
                .unwrap()
                .page("PageSize", 20)
                .is_err()
        );
    }

    #[test]
    fn hostnames_as_json_or_numbered() {
        let p = Params::decode(None, Some(b"Hostnames=%5B%22a.example.com%22%5D")).unwrap();
        assert_eq!(p.hostnames().unwrap(), ["a.example.com"]);
        let p = Params::decode(None, Some(b"Hostnames.2=b&Hostnames.1=a")).unwrap();
        assert_eq!(p.hostnames().unwrap(), ["a", "b"]);
        let p = Params::decode(None, Some(b"Hostnames=%5B%5D")).unwrap();
        assert!(p.hostnames().unwrap().is_empty());
        for bad in [
            &b"Hostnames=nope"[..],
            b"Hostnames.x=a",
            b"Hostnames.1=a&Hostnames.1=b",
            b"",
        ] {
            let e = Params::decode(None, Some(bad))
                .unwrap()
                .hostnames()
                .unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidHostnames);
        }
        let many: String = (0..300).map(|i| format!("k{i}=v&")).collect();
        assert!(Params::decode(Some(&many), None).is_err());
    }
}
