//! TLS settings of a client: rustls on aws-lc, the platform's roots plus
//! any certificate the test trusts, ALPN for HTTP/2, and the option to
//! accept any certificate (a self-signed test server's).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// Which certificates a client trusts, as given to its builder.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trust {
    /// Certificates added with `root_certificate` (DER).
    pub(crate) extra: Vec<CertificateDer<'static>>,
    /// Skip verification (`danger_accept_invalid_certs`).
    pub(crate) accept_any: bool,
    /// Leave the platform's roots out (only `extra` is trusted).
    pub(crate) no_platform_roots: bool,
}

impl Trust {
    /// Adds the certificates of a PEM file's text; an error names what
    /// is wrong with it.
    pub(crate) fn add_pem(&mut self, pem: &[u8]) -> Result<(), String> {
        let before = self.extra.len();
        for cert in CertificateDer::pem_slice_iter(pem) {
            self.extra
                .push(cert.map_err(|e| format!("root certificate: not PEM: {e}"))?);
        }
        if self.extra.len() == before {
            return Err("root certificate: no `BEGIN CERTIFICATE` block in the PEM".into());
        }
        Ok(())
    }

    /// The rustls configuration: ALPN offers `h2` then `http/1.1` unless
    /// `http1_only`.
    pub(crate) fn config(&self, http1_only: bool) -> Result<Arc<rustls::ClientConfig>, String> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?;
        let mut config = if self.accept_any {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
                .with_no_client_auth()
        } else {
            let mut roots = rustls::RootCertStore::empty();
            if !self.no_platform_roots {
                // Unreadable system certificates are skipped, as browsers
                // and curl do; a server they would have vouched for then
                // fails its handshake with rustls's reason.
                let found = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(found.certs);
            }
            for cert in &self.extra {
                roots
                    .add(cert.clone())
                    .map_err(|e| format!("root certificate: {e}"))?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        };
        config.alpn_protocols = if http1_only {
            vec![b"http/1.1".to_vec()]
        } else {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        };
        Ok(Arc::new(config))
    }
}

/// Accepts any server certificate, but still checks that the handshake is
/// signed by the key in it (so that the connection is the one the
/// certificate names, whatever that is).
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_pem_is_an_error_that_says_so() {
        let mut t = Trust::default();
        let e = t.add_pem(b"hello").unwrap_err();
        assert!(e.contains("no `BEGIN CERTIFICATE`"), "{e}");
        let e = t
            .add_pem(b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n")
            .unwrap_err();
        assert!(e.contains("not PEM"), "{e}");
        assert!(t.extra.is_empty());
    }

    #[test]
    fn alpn_offers_h2_unless_http1_only() {
        let t = Trust {
            no_platform_roots: true,
            ..Trust::default()
        };
        assert_eq!(
            t.config(false).unwrap().alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        assert_eq!(
            t.config(true).unwrap().alpn_protocols,
            vec![b"http/1.1".to_vec()]
        );
    }
}
