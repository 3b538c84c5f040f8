//! The cluster certificate (shared by every member, as upstream's `cluster.crt`) and
//! TLS configs pinned to a fingerprint: between members both ends present the cluster
//! certificate and accept only it (mutual TLS); a joining member pins the fingerprint
//! its token carries and presents nothing.

use std::sync::Arc;

use incus_api::{Error, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

/// SHA-256 of a DER certificate, hex (upstream's certificate fingerprint).
pub fn fingerprint(der: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(der))
}

/// The cluster certificate and its key.
#[derive(Clone)]
pub struct ClusterCert {
    pub cert_pem: String,
    pub key_pem: String,
    der: CertificateDer<'static>,
}

impl ClusterCert {
    /// A new self-signed certificate (ECDSA P-256), as upstream generates `cluster.crt`.
    pub fn generate(name: &str) -> Result<ClusterCert> {
        let mut params = rcgen::CertificateParams::new(vec![name.to_string()])
            .map_err(|e| Error::internal(format!("cluster certificate: {e}")))?;
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Linux Containers");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("root@{name}"));
        let key =
            rcgen::KeyPair::generate().map_err(|e| Error::internal(format!("cluster key: {e}")))?;
        let cert = params
            .self_signed(&key)
            .map_err(|e| Error::internal(format!("cluster certificate: {e}")))?;
        ClusterCert::from_pem(&cert.pem(), &key.serialize_pem())
    }

    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<ClusterCert> {
        let der = rustls_pemfile::certs(&mut cert_pem.as_bytes())
            .next()
            .ok_or_else(|| Error::invalid("cluster certificate: no certificate"))?
            .map_err(|e| Error::invalid(format!("cluster certificate: {e}")))?;
        rustls_pemfile::private_key(&mut key_pem.as_bytes())
            .map_err(|e| Error::invalid(format!("cluster key: {e}")))?
            .ok_or_else(|| Error::invalid("cluster key: no private key"))?;
        Ok(ClusterCert {
            cert_pem: cert_pem.to_string(),
            key_pem: key_pem.to_string(),
            der,
        })
    }

    pub fn fingerprint(&self) -> String {
        fingerprint(&self.der)
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    fn key(&self) -> PrivateKeyDer<'static> {
        rustls_pemfile::private_key(&mut self.key_pem.as_bytes())
            .ok()
            .flatten()
            .expect("checked in from_pem")
    }

    /// The members' listener: presents the cluster certificate; asks for a client
    /// certificate but does not require one (a joining member has none yet); which
    /// routes need the cluster certificate is decided per request ([`peer_is`]).
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>> {
        let provider = provider();
        let c = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| Error::internal(format!("TLS: {e}")))?
            .with_client_cert_verifier(Arc::new(AnyClientCert { provider }))
            .with_single_cert(vec![self.der.clone()], self.key())
            .map_err(|e| Error::internal(format!("TLS: {e}")))?;
        Ok(Arc::new(c))
    }

    /// Member to member: presents the cluster certificate, accepts only it.
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>> {
        let provider = provider();
        let c = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| Error::internal(format!("TLS: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Pinned {
                fingerprint: self.fingerprint(),
                provider,
            }))
            .with_client_auth_cert(vec![self.der.clone()], self.key())
            .map_err(|e| Error::internal(format!("TLS: {e}")))?;
        Ok(Arc::new(c))
    }
}

/// A joining member: no client certificate; the server must present the certificate
/// whose fingerprint the token carries.
pub fn join_client_config(fingerprint: &str) -> Result<Arc<rustls::ClientConfig>> {
    let provider = provider();
    let c = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| Error::internal(format!("TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Pinned {
            fingerprint: fingerprint.to_ascii_lowercase(),
            provider,
        }))
        .with_no_client_auth();
    Ok(Arc::new(c))
}

/// Whether the peer of a server-side connection presented exactly `der`.
pub fn peer_is(conn: &rustls::ServerConnection, der: &[u8]) -> bool {
    conn.peer_certificates()
        .and_then(|c| c.first())
        .is_some_and(|c| c.as_ref() == der)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The server name sent in the handshake (the pinned verifier ignores names).
pub fn server_name() -> ServerName<'static> {
    ServerName::try_from("incus-cluster").expect("valid name")
}

#[derive(Debug)]
struct Pinned {
    fingerprint: String,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if fingerprint(end_entity) == self.fingerprint {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "the member's certificate is not the cluster certificate".into(),
            ))
        }
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

/// Accepts any well-signed client certificate; routes check [`peer_is`].
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
