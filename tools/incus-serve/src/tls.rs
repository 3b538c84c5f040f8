//! HTTPS: the server certificate (generated on first use, as upstream) and a client
//! certificate verifier that accepts any well-signed certificate and leaves the trust
//! decision to the trust store (by fingerprint), so untrusted clients still reach
//! `GET /1.0` and the join-token route.

use incus_api::{Error, Result};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use std::sync::Arc;

pub use incus_core::trust::fingerprint;

/// The fingerprint of the first certificate of a PEM text.
pub fn pem_fingerprint(pem: &str) -> Option<String> {
    incus_core::trust::cert_der(pem.as_bytes())
        .ok()
        .map(|d| fingerprint(&d))
}

/// Loads `server.crt|key` from the state directory, generating them on first use.
/// Returns the PEM certificate and the rustls config.
pub fn load_or_create(ctx: &incus_core::Context) -> Result<(String, rustls::ServerConfig)> {
    let pem = incus_core::trust::server_cert(ctx)?;
    let (crt, key) = incus_core::trust::server_cert_paths(ctx);
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut pem.as_bytes())
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::invalid(format!("{}: {e}", crt.display())))?;
    let key_pem = std::fs::read(&key)?;
    let key_der: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|e| Error::invalid(format!("{}: {e}", key.display())))?
        .ok_or_else(|| Error::invalid(format!("{}: no private key", key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| Error::internal(format!("TLS: {e}")))?
        .with_client_cert_verifier(Arc::new(AnyClientCert { provider }))
        .with_single_cert(certs, key_der)
        .map_err(|e| Error::invalid(format!("Server certificate: {e}")))?;
    Ok((pem, config))
}

/// Accepts any client certificate whose handshake signature is valid; whether it is
/// trusted is decided per request from its fingerprint.
#[derive(Debug)]
struct AnyClientCert {
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        false
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> std::result::Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
