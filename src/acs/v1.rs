//! The V1 RPC signature (HMAC-SHA1, SignatureVersion 1.0; wire reference
//! §6): every query and form parameter but `Signature`, sorted and
//! encoded, under `METHOD&%2F&...`, keyed by `secret + "&"`.

use aws_lc_rs::hmac;
use base64::Engine;

use super::encode::percent_encode;

pub fn string_to_sign(method: &str, params: &[(&str, &str)]) -> String {
    let mut enc: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| *k != "Signature")
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    enc.sort();
    let canonical = enc
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!("{method}&%2F&{}", percent_encode(&canonical))
}

pub fn signature(secret: &str, string_to_sign: &str) -> String {
    let key = hmac::Key::new(
        hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        zeroize::Zeroizing::new(format!("{secret}&")).as_bytes(),
    );
    base64::engine::general_purpose::STANDARD.encode(hmac::sign(&key, string_to_sign.as_bytes()))
}
