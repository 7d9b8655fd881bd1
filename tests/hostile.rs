//! Hostile input: property tests over the CSR parser, PEM handling, the
//! config loader and the pure functions a TUI paste goes through
//! (`text::sanitize`, `Service::check_csr`, `pki::parse_csr`). Every case
//! must end in a clear ESA error or a correct `CA:FALSE` client leaf: no
//! panic, no unbounded recursion or memory, and no control or bidi
//! character reaching a terminal unescaped.

use std::path::Path;

use esa_certs::api::CreateRequest;
use esa_certs::config;
use esa_certs::error::ErrorCode;
use esa_certs::pki::{self, PkiError};
use esa_certs::service::Service;
use esa_certs::text::{is_dangerous, sanitize};
use proptest::prelude::*;
use rcgen::{BasicConstraints, CertificateParams, CustomExtension, DnType, IsCa, KeyPair};

fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Characters that must never be printed or accepted raw, listed here
/// independently of `is_dangerous` so a gap in it fails these tests:
/// controls, bidi marks, and invisible format characters and separators.
fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{ad}'
                | '\u{61c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{feff}'
                | '\u{e0000}'..='\u{e007f}'
        )
}

fn clean(s: &str) -> bool {
    !s.chars().any(|c| is_dangerous(c) || invisible(c))
}

/// A CSR rejection must be `InvalidParameter.CSR` with a printable reason.
fn assert_csr_rejection(e: PkiError) {
    match e {
        PkiError::Csr(reason) => assert!(clean(&reason), "unescaped text in {reason:?}"),
        other => panic!("not a CSR error: {other:?}"),
    }
}

fn key() -> &'static KeyPair {
    use std::sync::OnceLock;
    static KEY: OnceLock<KeyPair> = OnceLock::new();
    KEY.get_or_init(|| KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap())
}

fn csr_pem(params: &CertificateParams) -> Option<String> {
    params.serialize_request(key()).ok()?.pem().ok()
}

fn der_of(pem_text: &str) -> Vec<u8> {
    pem::parse(pem_text).unwrap().into_contents()
}

fn pem_of(label: &str, der: Vec<u8>) -> String {
    pem::encode(&pem::Pem::new(label, der))
}

/// A service on a temporary store, its site CA already created.
struct Desk {
    _dir: tempfile::TempDir,
    service: Service,
}

fn desk() -> Desk {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config::parse(
        "[store]\npath = \"store\"\n[ca]\nkey_type = \"ECC_256\"\n[[site]]\nid = 7\nname = \"h.example\"\n",
        &dir.path().join("config.toml"),
    )
    .unwrap();
    let service = Service::open(cfg).unwrap();
    service.ca_pem(7).unwrap();
    Desk { _dir: dir, service }
}

/// Issues for the CSR and checks the leaf is a plain client certificate:
/// CA:FALSE and only the extensions of our profile.
fn issue_and_check(d: &Desk, csr: &str) -> Result<(), esa_certs::error::EsaError> {
    let r = d.service.create(&CreateRequest {
        site_id: Some("7".into()),
        validity_days: Some("5".into()),
        csr: Some(csr.as_bytes().to_vec()),
        ..Default::default()
    })?;
    let der = der_of(&r.certificate);
    let (_, x) = x509_parser::parse_x509_certificate(&der).unwrap();
    let bc = x
        .basic_constraints()
        .unwrap()
        .expect("basicConstraints present");
    assert!(!bc.value.ca, "a CSR obtained a CA certificate");
    let allowed = [
        "2.5.29.19", // basicConstraints
        "2.5.29.15", // keyUsage
        "2.5.29.37", // extKeyUsage
        "2.5.29.14", // subjectKeyIdentifier
        "2.5.29.35", // authorityKeyIdentifier
        "2.5.29.17", // subjectAltName
    ];
    for ext in x.extensions() {
        let oid = ext.oid.to_id_string();
        assert!(
            allowed.contains(&oid.as_str()),
            "extension {oid} leaked into the leaf"
        );
    }
    assert!(clean(&r.common_name) || r.common_name.is_empty());
    Ok(())
}

// ---- the CSR parser ---------------------------------------------------------

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn arbitrary_bytes_are_a_csr_error(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        if let Err(e) = pki::parse_csr(&bytes) {
            assert_csr_rejection(e);
        }
    }

    #[test]
    fn arbitrary_der_in_a_csr_pem_is_a_csr_error(
        der in proptest::collection::vec(any::<u8>(), 0..2048),
        label in prop::sample::select(vec!["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST", "CERTIFICATE", "X\u{1b}[2J"]),
    ) {
        let text = pem_of(label, der);
        match pki::parse_csr(text.as_bytes()) {
            Err(e) => assert_csr_rejection(e),
            Ok(_) => panic!("random DER accepted as a CSR"),
        }
    }

    #[test]
    fn truncated_or_altered_csrs_are_refused(cut in 0usize..400, flip in 0usize..400, bit in 0u8..8) {
        let der = der_of(&csr_pem(&CertificateParams::new(vec!["a.example".into()]).unwrap()).unwrap());
        let cut = cut % der.len();
        match pki::parse_csr(pem_of("CERTIFICATE REQUEST", der[..cut].to_vec()).as_bytes()) {
            Err(e) => assert_csr_rejection(e),
            Ok(_) => panic!("a CSR truncated to {cut} bytes was accepted"),
        }
        let mut altered = der.clone();
        let i = flip % altered.len();
        altered[i] ^= 1 << bit;
        match pki::parse_csr(pem_of("CERTIFICATE REQUEST", altered).as_bytes()) {
            Err(e) => assert_csr_rejection(e),
            Ok(_) => panic!("a CSR with byte {i} altered was accepted"),
        }
    }

    /// Pasted text: a CSR with junk, escapes and bidi marks around it.
    #[test]
    fn pasted_text_around_a_csr_is_judged_safely(
        before in "\\PC{0,40}|\u{1b}\\[[0-9;]{0,8}m|\u{202e}",
        after in "\\PC{0,40}|\u{1b}\\]52;c;[A-Za-z0-9]{0,20}\u{7}",
    ) {
        let csr = csr_pem(&CertificateParams::new(vec!["p.example".into()]).unwrap()).unwrap();
        let pasted = format!("{before}\n{csr}\n{after}");
        let d = desk();
        match d.service.check_csr(pasted.as_bytes()) {
            Ok(parsed) => prop_assert!(clean(&parsed.subject_display)),
            Err(e) => {
                prop_assert_eq!(e.code, ErrorCode::InvalidCsr);
                prop_assert!(clean(&e.message), "{:?}", e.message);
            }
        }
        prop_assert!(clean(&sanitize(&pasted)));
    }
}

proptest! {
    #![proptest_config(cases(96))]

    /// Subjects of any text: control characters, right-to-left marks,
    /// invisible format characters, terminal escapes, huge or empty names.
    #[test]
    fn any_subject_gives_an_error_or_a_clean_client_leaf(
        cn in "\\PC{0,80}|[\u{0}-\u{1f}\u{7f}-\u{9f}\u{200e}\u{200f}\u{202a}-\u{202e}\u{2066}-\u{2069}a-z]{1,20}|[\\p{Cf}\\p{Zl}\\p{Zp}a-z]{1,20}|\u{1b}\\[[0-9;]{1,6}[A-Za-z]|.{60,70}",
        org in "\\PC{0,20}",
    ) {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, cn.as_str());
        if !org.is_empty() {
            params.distinguished_name.push(DnType::OrganizationName, org.as_str());
        }
        let Some(csr) = csr_pem(&params) else { return Ok(()) };
        match pki::parse_csr(csr.as_bytes()) {
            Err(e) => assert_csr_rejection(e),
            Ok(parsed) => {
                prop_assert!(clean(&cn) && clean(&org), "dangerous subject accepted: {:?}", cn);
                prop_assert!(cn.chars().count() <= 64, "a {}-character CN accepted", cn.chars().count());
                prop_assert!(clean(&parsed.subject_display));
                let d = desk();
                issue_and_check(&d, &csr).unwrap();
            }
        }
    }

    /// CSRs asking for CA:TRUE, name constraints, keyCertSign or unknown
    /// (even critical) extensions get an ordinary client leaf, or a clear
    /// CSR error when the request itself is malformed.
    #[test]
    fn requested_extensions_never_reach_the_leaf(
        ask_ca in any::<bool>(),
        path_len in proptest::option::of(0u8..10),
        name_constraints in any::<bool>(),
        cert_sign in any::<bool>(),
        odd in proptest::collection::vec(
            (proptest::collection::vec(1u64..100_000, 2..6), proptest::collection::vec(any::<u8>(), 0..40), any::<bool>()),
            0..4,
        ),
    ) {
        let mut params = CertificateParams::new(vec!["x.example".into()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, "evil");
        if ask_ca {
            params.is_ca = IsCa::Ca(match path_len {
                Some(n) => BasicConstraints::Constrained(n),
                None => BasicConstraints::Unconstrained,
            });
        }
        if name_constraints {
            // permittedSubtrees: dNSName "test"
            let nc = vec![0x30, 0x0a, 0xa0, 0x08, 0x30, 0x06, 0x82, 0x04, b't', b'e', b's', b't'];
            params.custom_extensions.push(CustomExtension::from_oid_content(&[2, 5, 29, 30], nc));
        }
        if cert_sign {
            params.custom_extensions.push(CustomExtension::from_oid_content(&[2, 5, 29, 15], vec![0x03, 0x02, 0x02, 0x04]));
        }
        for (mut arcs, content, critical) in odd {
            // A valid OID: first arc 0..=2, second < 40.
            arcs[0] %= 3;
            arcs[1] %= 40;
            let mut ext = CustomExtension::from_oid_content(&arcs, content);
            ext.set_criticality(critical);
            params.custom_extensions.push(ext);
        }
        let Some(csr) = csr_pem(&params) else { return Ok(()) };
        let d = desk();
        match issue_and_check(&d, &csr) {
            Ok(()) => {}
            Err(e) => {
                prop_assert_eq!(e.code, ErrorCode::InvalidCsr, "{}", e.message);
                prop_assert!(clean(&e.message));
            }
        }
    }
}

#[test]
fn oversized_csrs_are_refused_before_parsing() {
    // The size reason (not a PEM or DER one) shows the size was checked
    // before any parsing. (How fast that is belongs to benchmarks.)
    for size in [64 * 1024 + 1, 1 << 20, 16 << 20] {
        let big = vec![b'A'; size];
        match pki::parse_csr(&big) {
            Err(PkiError::Csr(r)) => assert!(r.contains("larger than 64 KiB"), "{r}"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn huge_subjects_are_refused() {
    let mut params = CertificateParams::default();
    for i in 0..200 {
        params.distinguished_name.push(
            DnType::CustomDnType(vec![2, 5, 4, 10 + (i % 2)]),
            format!("o{i}"),
        );
    }
    params
        .distinguished_name
        .push(DnType::CommonName, "x".repeat(5000));
    let csr = csr_pem(&params).unwrap();
    let e = pki::parse_csr(csr.as_bytes()).unwrap_err();
    assert_csr_rejection(e);
}

/// DER length bytes for `n`.
fn der_len(n: usize) -> Vec<u8> {
    if n < 0x80 {
        vec![n as u8]
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|&b| b == 0)
            .collect();
        let mut v = vec![0x80 | bytes.len() as u8];
        v.extend(bytes);
        v
    }
}

fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    v.extend(der_len(body.len()));
    v.extend_from_slice(body);
    v
}

/// SEQUENCE { SEQUENCE { ... 10,000 deep ... } }, built iteratively.
fn nested_sequences(depth: usize) -> Vec<u8> {
    let mut v = vec![0x30, 0x00];
    for _ in 0..depth {
        v = tlv(0x30, &v);
    }
    v
}

/// Runs `f` on a thread with a small stack: unbounded recursion over a
/// 10,000-deep input would overflow it (and abort the test binary).
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .expect("the parser panicked")
}

#[test]
fn deeply_nested_asn1_in_a_csr_is_an_error_not_a_stack_overflow() {
    let spki = {
        let good =
            der_of(&csr_pem(&CertificateParams::new(vec!["n.example".into()]).unwrap()).unwrap());
        let (_, csr) =
            <x509_parser::certification_request::X509CertificationRequest as x509_parser::prelude::FromDer<_>>::from_der(&good)
                .unwrap();
        csr.certification_request_info.subject_pki.raw.to_vec()
    };
    let deep = nested_sequences(10_000);
    let csr_with = |subject: Vec<u8>, attributes: Vec<u8>| {
        let info = tlv(
            0x30,
            &[&[0x02, 0x01, 0x00][..], &subject, &spki, &attributes].concat(),
        );
        let alg = tlv(0x30, &[0x06, 0x03, 0x2b, 0x65, 0x70]);
        let sig = tlv(0x03, &[0u8; 65]);
        let text = pem_of("CERTIFICATE REQUEST", tlv(0x30, &[info, alg, sig].concat()));
        assert!(text.len() < 64 * 1024, "{} bytes", text.len());
        text
    };
    let plain_subject = tlv(0x30, &[]);
    // As a subject attribute's value.
    let cn_oid = [0x06, 0x03, 0x55, 0x04, 0x03];
    let atv = tlv(0x30, &[&cn_oid[..], &deep].concat());
    let deep_subject = tlv(0x30, &tlv(0x31, &atv));
    // As the value of the extension request attribute.
    let ext_req_oid = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0e,
    ];
    let attr = tlv(0x30, &[&ext_req_oid[..], &tlv(0x31, &deep)].concat());
    for text in [
        csr_with(deep_subject, tlv(0xa0, &[])),
        csr_with(plain_subject, tlv(0xa0, &attr)),
    ] {
        let e = on_small_stack(move || pki::parse_csr(text.as_bytes()).map(|_| ()));
        assert_csr_rejection(e.unwrap_err());
    }
    // The bare nesting, as the whole CSR.
    let text = pem_of("CERTIFICATE REQUEST", nested_sequences(10_000));
    let e = on_small_stack(move || pki::parse_csr(text.as_bytes()).map(|_| ()));
    assert_csr_rejection(e.unwrap_err());
}

// ---- PEM handling -------------------------------------------------------------

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn stored_pem_readers_never_panic(text in "(-----BEGIN [A-Z ]{0,24}-----\n)?[A-Za-z0-9+/=\n\u{1b}]{0,600}(-----END [A-Z ]{0,24}-----)?") {
        let _ = pki::inspect_pem(&text);
        if let Err(e) = pki::unprotect(&text, "pass") {
            prop_assert!(clean(&e.to_string()) || e.to_string().contains("not PEM"));
        }
        let _ = pki::is_protected(&text);
        let _ = pki::key_matches_cert(&text, text.as_bytes());
    }

    #[test]
    fn an_encrypted_key_with_random_content_is_refused(der in proptest::collection::vec(any::<u8>(), 0..512)) {
        let text = pem_of(pki::ENCRYPTED_LABEL, der);
        prop_assert!(pki::unprotect(&text, "pass").is_err());
    }
}

// ---- the config loader ----------------------------------------------------------

fn config_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("[store]".to_owned()),
        Just("[ca]".to_owned()),
        Just("[crl]".to_owned()),
        Just("[defaults]".to_owned()),
        Just("[[site]]".to_owned()),
        (0u64..5).prop_map(|n| format!("id = {n}")),
        "\\PC{0,20}".prop_map(|s| format!("name = {s:?}")),
        "[a-z_]{1,16}".prop_map(|k| format!("{k} = 1")),
        (-5i64..40000).prop_map(|n| format!("validity_days = {n}")),
        "[A-Za-z_0-9]{0,10}".prop_map(|s| format!("key_type = {s:?}")),
        any::<bool>().prop_map(|b| format!("protect_key = {b}")),
        "\\PC{0,20}".prop_map(|s| format!("common_name = {s:?}")),
        ".{0,30}",
        "[\u{0}-\u{1f}\u{1b}\u{202e}=\\[\\]\"]{0,10}",
    ]
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn config_parsing_never_panics_and_errors_are_printable(lines in proptest::collection::vec(config_line(), 0..12)) {
        let text = lines.join("\n");
        match config::parse(&text, Path::new("/cfg/config.toml")) {
            Ok(cfg) => {
                let mut ids: Vec<u64> = cfg.sites.iter().map(|s| s.id).collect();
                ids.sort_unstable();
                ids.dedup();
                prop_assert_eq!(ids.len(), cfg.sites.len(), "duplicate site ids accepted");
                prop_assert!((1..=3650).contains(&cfg.defaults.validity_days));
            }
            Err(e) => prop_assert!(clean(&e.to_string()), "{:?}", e.to_string()),
        }
    }

    #[test]
    fn config_of_arbitrary_text_never_panics(text in "\\PC{0,300}|[\\[\\]{}=\"',\n a-z0-9]{0,300}") {
        if let Err(e) = config::parse(&text, Path::new("/cfg/config.toml")) {
            prop_assert!(clean(&e.to_string()), "{:?}", e.to_string());
        }
    }
}

#[test]
fn deeply_nested_config_values_are_an_error_not_a_stack_overflow() {
    for text in [
        format!("a = {}1{}", "[".repeat(10_000), "]".repeat(10_000)),
        format!("a = {}1{}", "{b = ".repeat(10_000), "}".repeat(10_000)),
        format!("[{}]", "a.".repeat(10_000) + "b"),
    ] {
        let r =
            on_small_stack(move || config::parse(&text, Path::new("/cfg/config.toml")).map(|_| ()));
        assert!(r.is_err());
    }
}

#[test]
fn an_oversized_config_file_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("config.toml");
    let over = usize::try_from(esa_certs::base::limits::MAX_CONFIG_BYTES).unwrap() + 1;
    std::fs::write(&p, format!("# {}\n", "x".repeat(over))).unwrap();
    let e = config::load(&p).unwrap_err().to_string();
    assert!(e.contains("larger than"), "{e}");
}

// ---- text shown in a terminal --------------------------------------------------

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn sanitize_lets_no_control_or_bidi_character_through(
        s in "\\PC*|[\u{0}-\u{9f}\u{200e}\u{200f}\u{202a}-\u{202e}\u{2066}-\u{2069}\u{61c}]*|(\\PC|[\u{ad}\u{180e}\u{200b}-\u{200f}\u{2028}\u{2029}\u{2060}-\u{2064}\u{feff}\u{e0000}-\u{e007f}]|[\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}])*"
    ) {
        let out = sanitize(&s);
        prop_assert!(clean(&out), "{:?} -> {:?}", s, out);
        if clean(&s) {
            prop_assert_eq!(&out, &s);
        }
        prop_assert!(out.len() <= s.len() * 10 + 1);
    }
}

proptest! {
    #![proptest_config(cases(2048))]

    /// Every format character (Cf) and line/paragraph separator, as the
    /// regex engine's Unicode tables know them, is dangerous: escaped by
    /// sanitize and refused in names.
    #[test]
    fn every_format_character_and_separator_is_dangerous(c in "[\\p{Cf}\\p{Zl}\\p{Zp}]") {
        let ch = c.chars().next().unwrap();
        prop_assert!(is_dangerous(ch), "U+{:04X}", ch as u32);
        prop_assert_ne!(sanitize(&c), c);
    }
}

/// Every single-bit change of a CSR, exhaustively: each is refused (the
/// random search above once found the outer signatureAlgorithm tag, which
/// the parser read leniently).
#[test]
fn every_single_bit_flip_of_a_csr_is_refused() {
    for csr in [
        csr_pem(&CertificateParams::new(vec!["a.example".into()]).unwrap()).unwrap(),
        {
            let k = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
            let p = CertificateParams::new(vec!["b.example".into()]).unwrap();
            p.serialize_request(&k).unwrap().pem().unwrap()
        },
    ] {
        let der = der_of(&csr);
        assert!(pki::parse_csr(csr.as_bytes()).is_ok());
        for i in 0..der.len() {
            for bit in 0..8 {
                let mut d = der.clone();
                d[i] ^= 1 << bit;
                match pki::parse_csr(pem_of("CERTIFICATE REQUEST", d).as_bytes()) {
                    Err(e) => assert_csr_rejection(e),
                    Ok(_) => panic!("byte {i} bit {bit} altered, still accepted"),
                }
            }
        }
    }
}
