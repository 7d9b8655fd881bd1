//! A second, independent TLS stack: rustls (webpki) as the server, with
//! `WebPkiClientVerifier` trusting the site CA and enforcing its CRL, and a
//! rustls client presenting our certificate and key. The two run in memory,
//! so the exact reason for a refusal can be asserted.

mod common;
mod lifecycle_support;

use std::sync::Arc;

use rustls::pki_types::{
    CertificateDer, CertificateRevocationListDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName,
};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    CertificateError, ClientConfig, ClientConnection, RootCertStore, ServerConfig,
    ServerConnection, SupportedProtocolVersion,
};

use common::{SITE, SITE2, World, have_openssl, openssl_csr};
use lifecycle_support::{Issued, crl_file, files_for, issue_on};

fn der_of(pem_file: &std::path::Path) -> Vec<u8> {
    pem::parse(std::fs::read(pem_file).unwrap())
        .unwrap()
        .into_contents()
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The server's own certificate, from a throwaway CA (rcgen).
struct ServerIdentity {
    ca_der: CertificateDer<'static>,
    cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

fn server_identity() -> ServerIdentity {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "test server CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    ServerIdentity {
        ca_der: ca_cert.der().clone(),
        cert_der: cert.der().clone(),
        key_der: key.serialize_der(),
    }
}

/// Runs a full handshake plus one application record, client to server.
/// Returns the server's error, if it refused the client.
fn handshake(
    id: &ServerIdentity,
    site_ca: &[u8],
    site_crl: &[u8],
    client: &Issued,
    version: &'static SupportedProtocolVersion,
) -> Result<(), rustls::Error> {
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(site_ca.to_vec())).unwrap();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .with_crls([CertificateRevocationListDer::from(site_crl.to_vec())])
        .build()
        .expect("rustls accepts our CA and CRL");
    let server_cfg = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[version])
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![id.cert_der.clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(id.key_der.clone())),
        )
        .unwrap();

    let mut server_roots = RootCertStore::empty();
    server_roots.add(id.ca_der.clone()).unwrap();
    let client_key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der_of(&client.key)));
    let client_cfg = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(server_roots)
        .with_client_auth_cert(vec![CertificateDer::from(der_of(&client.cert))], client_key)
        .expect("rustls accepts our client key");

    let mut c = ClientConnection::new(
        Arc::new(client_cfg),
        ServerName::try_from("localhost").unwrap(),
    )
    .unwrap();
    let mut s = ServerConnection::new(Arc::new(server_cfg)).unwrap();
    use std::io::{Read, Write};
    c.writer().write_all(b"ping").unwrap();
    for _ in 0..20 {
        let mut wire = Vec::new();
        while c.wants_write() {
            c.write_tls(&mut wire).unwrap();
        }
        let mut rd = &wire[..];
        while !rd.is_empty() {
            s.read_tls(&mut rd).unwrap();
            s.process_new_packets()?;
        }
        let mut wire = Vec::new();
        while s.wants_write() {
            s.write_tls(&mut wire).unwrap();
        }
        let mut rd = &wire[..];
        while !rd.is_empty() {
            c.read_tls(&mut rd).unwrap();
            if let Err(e) = c.process_new_packets() {
                panic!("the client side failed: {e}");
            }
        }
        let mut got = [0u8; 4];
        if !s.is_handshaking() && s.reader().read_exact(&mut got).is_ok() {
            assert_eq!(&got, b"ping");
            assert!(
                s.peer_certificates().is_some_and(|p| !p.is_empty()),
                "the server saw a client certificate"
            );
            return Ok(());
        }
    }
    panic!("handshake did not finish");
}

const VERSIONS: [&SupportedProtocolVersion; 2] = [&rustls::version::TLS13, &rustls::version::TLS12];

fn lifecycle_against_rustls(ca_key_type: &str) {
    let w = World::new(&format!("[ca]\nkey_type = \"{ca_key_type}\"\n"));
    let id = server_identity();
    let certs: Vec<Issued> = ["RSA", "ECC_256", "ECC_384", "ED25519"]
        .iter()
        .map(|t| issue_on(&w, SITE, t, 30))
        .collect();
    let foreign = issue_on(&w, SITE2, "ECC_256", 30);
    let ca = der_of(&w.ca_file(SITE));
    let crl = |name: &str| der_of(&crl_file(&w, SITE, name));

    let active = crl("active.pem");
    for c in &certs {
        for v in VERSIONS {
            let r = handshake(&id, &ca, &active, c, v);
            assert!(r.is_ok(), "active {} {v:?}: {r:?}", c.pkey);
        }
    }
    for v in VERSIONS {
        let r = handshake(&id, &ca, &active, &foreign, v);
        assert!(
            matches!(
                r,
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::UnknownIssuer
                ))
            ),
            "other site's CA {v:?}: {r:?}"
        );
    }

    for c in &certs {
        w.ok(&["revoke", &c.id]);
    }
    let revoked = crl("revoked.pem");
    for c in &certs {
        for v in VERSIONS {
            let r = handshake(&id, &ca, &revoked, c, v);
            assert!(
                matches!(
                    r,
                    Err(rustls::Error::InvalidCertificate(CertificateError::Revoked))
                ),
                "revoked {} {v:?}: {r:?}",
                c.pkey
            );
        }
    }
    // The stale CRL (before the revocations) would still let them in: the
    // refusal above comes from the CRL, not from anything else.
    assert!(handshake(&id, &ca, &active, &certs[0], VERSIONS[0]).is_ok());

    for c in &certs {
        w.ok(&["activate", &c.id]);
    }
    let reactivated = crl("reactivated.pem");
    for c in &certs {
        for v in VERSIONS {
            let r = handshake(&id, &ca, &reactivated, c, v);
            assert!(r.is_ok(), "re-activated {} {v:?}: {r:?}", c.pkey);
        }
    }

    // A CRL of another CA says nothing about ours: webpki refuses to guess.
    let other_crl = der_of(&crl_file(&w, SITE2, "other.pem"));
    let r = handshake(&id, &ca, &other_crl, &certs[1], VERSIONS[0]);
    assert!(
        matches!(
            r,
            Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownRevocationStatus
            ))
        ),
        "{r:?}"
    );
}

#[test]
fn rustls_with_an_ecdsa_p256_site_ca() {
    lifecycle_against_rustls("ECC_256");
}

#[test]
fn rustls_with_an_ed25519_site_ca() {
    lifecycle_against_rustls("ED25519");
}

#[test]
fn rustls_with_an_ecdsa_p384_site_ca() {
    lifecycle_against_rustls("ECC_384");
}

#[test]
fn rustls_with_an_rsa_site_ca() {
    lifecycle_against_rustls("RSA_2048");
}

/// A certificate whose subject came verbatim from a CSR (repeated DC and OU
/// attributes: the TBS is re-signed after the subject is put in) is as good
/// to rustls as any other, for an ECDSA and an RSA site CA.
#[test]
fn rustls_accepts_a_certificate_with_a_verbatim_csr_subject() {
    if !have_openssl() {
        println!("SKIPPED: openssl is not installed (needed to make the CSR)");
        return;
    }
    for ca_key_type in ["ECC_256", "RSA"] {
        let w = World::new(&format!("[ca]\nkey_type = \"{ca_key_type}\"\n"));
        let csr = openssl_csr(
            &w,
            "ad",
            &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
            "/DC=com/DC=example/OU=Engineering/OU=Laptops/CN=bob",
            &[],
        );
        let v = w.json(&[
            "issue",
            "--site-id",
            &SITE.to_string(),
            "--validity-days",
            "30",
            "--csr",
            csr.to_str().unwrap(),
            "--json",
        ]);
        let mut client = files_for(&w, v, "csr");
        client.key = w.path("ad.key");
        let ca = der_of(&w.ca_file(SITE));
        let crl = der_of(&crl_file(&w, SITE, "crl.pem"));
        let id = server_identity();
        for version in VERSIONS {
            let r = handshake(&id, &ca, &crl, &client, version);
            assert!(r.is_ok(), "{ca_key_type} {version:?}: {r:?}");
        }
    }
}
