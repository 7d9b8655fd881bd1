//! The few DER operations rcgen cannot do for us: reading headers, and
//! putting a CSR's subject into a certificate verbatim.
//!
//! rcgen keeps a subject as one value per attribute type, one attribute per
//! RDN. A CSR subject such as `DC=corp, DC=example, OU=Eng, OU=Laptops,
//! CN=bob` (Active Directory and LDAP style) does not fit that form. For
//! such subjects the certificate is built by rcgen as usual, then its
//! subject is replaced by the CSR's own DER and the TBSCertificate is signed
//! again with the CA key: the signature covers exactly what is issued.

use rcgen::{KeyPair, SigningKey};

use super::PkiError;

/// Reads one DER header at `at`: (tag, offset of the content, content length).
pub(super) fn header(der: &[u8], at: usize) -> Option<(u8, usize, usize)> {
    let tag = *der.get(at)?;
    let first = *der.get(at + 1)?;
    if first < 0x80 {
        return Some((tag, at + 2, usize::from(first)));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 3 {
        return None;
    }
    let bytes = der.get(at + 2..at + 2 + n)?;
    let len = bytes.iter().fold(0usize, |a, &b| (a << 8) | usize::from(b));
    Some((tag, at + 2 + n, len))
}

/// The elements of a SEQUENCE (or SET) whose content is `content`, each as
/// its whole TLV.
fn elements(content: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < content.len() {
        let (_, body, len) = header(content, at)?;
        let end = body.checked_add(len)?;
        out.push(content.get(at..end)?);
        at = end;
    }
    Some(out)
}

/// A TLV with this tag around `content`.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = Vec::with_capacity(len + 6);
    out.push(tag);
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// The content of the SEQUENCE that `der` is (and nothing after it).
fn sequence_content(der: &[u8]) -> Option<&[u8]> {
    let (0x30, body, len) = header(der, 0)? else {
        return None;
    };
    (body.checked_add(len)? == der.len()).then(|| &der[body..])
}

/// A subject `Name` with one more RDN at the end: `CN=<common_name>` as a
/// UTF8String (for a CSR subject without a CommonName).
pub fn name_with_cn(name_der: &[u8], common_name: &str) -> Option<Vec<u8>> {
    const CN_OID: [u8; 5] = [0x06, 0x03, 0x55, 0x04, 0x03];
    let mut attribute = CN_OID.to_vec();
    attribute.extend(tlv(0x0c, common_name.as_bytes()));
    let rdn = tlv(0x31, &tlv(0x30, &attribute));
    let mut content = sequence_content(name_der)?.to_vec();
    content.extend(rdn);
    Some(tlv(0x30, &content))
}

/// Replaces the subject of the certificate `cert_der` (signed by `key`)
/// with `subject_der` and signs the result again with `key`.
pub(super) fn with_subject(
    cert_der: &[u8],
    subject_der: &[u8],
    key: &KeyPair,
) -> Result<Vec<u8>, PkiError> {
    let bad = || PkiError::Signing("cannot re-encode the certificate's subject".into());
    sequence_content(subject_der).ok_or_else(bad)?;
    let outer = elements(sequence_content(cert_der).ok_or_else(bad)?).ok_or_else(bad)?;
    let [tbs, algorithm, _signature] = outer.as_slice() else {
        return Err(bad());
    };
    let mut fields = elements(sequence_content(tbs).ok_or_else(bad)?).ok_or_else(bad)?;
    // version [0], serial, signature, issuer, validity, subject, ...
    let subject_at = if fields.first().is_some_and(|f| f[0] == 0xa0) {
        5
    } else {
        4
    };
    let slot = fields.get_mut(subject_at).ok_or_else(bad)?;
    if slot.first() != Some(&0x30) {
        return Err(bad());
    }
    *slot = subject_der;
    let tbs = tlv(0x30, &fields.concat());
    let signature = key
        .sign(&tbs)
        .map_err(|e| PkiError::Signing(e.to_string()))?;
    let mut bits = vec![0u8]; // no unused bits
    bits.extend(signature);
    let mut content = tbs;
    content.extend_from_slice(algorithm);
    content.extend(tlv(0x03, &bits));
    Ok(tlv(0x30, &content))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip_in_every_form() {
        for len in [0usize, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000] {
            let content = vec![7u8; len];
            let der = tlv(0x30, &content);
            assert_eq!(header(&der, 0), Some((0x30, der.len() - len, len)));
            assert_eq!(sequence_content(&der), Some(&content[..]));
        }
    }

    #[test]
    fn malformed_input_is_none_not_a_panic() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x30, 0x05, 1],
        ] {
            assert!(sequence_content(bad).is_none());
            assert!(name_with_cn(bad, "x").is_none());
        }
        assert!(elements(&[0x02, 0x05, 1]).is_none());
    }
}
