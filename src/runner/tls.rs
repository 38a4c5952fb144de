//! TLS client configurations: the system and webpki roots by default, a custom CA (which may
//! be the server's own self-signed certificate), no verification at all (`tls.insecure`), and
//! a client certificate (`tls.cert` + `tls.key`).

pub mod asked;
mod pinned;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// Installs the ring provider once (two linked providers make rustls panic otherwise).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The files of a connection's `tls:` (templates expanded; relative paths are relative to the
/// collection, or to the current folder for `wsrun watch` and Python).
#[derive(Debug, Clone, Default)]
pub struct TlsFiles {
    /// `tls.ca`: PEM certificates trusted for the server (a CA, or the server's own).
    pub ca: Option<PathBuf>,
    /// `tls.cert` and `tls.key`: the client certificate (PEM, chain first) and its private key.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// `tls.insecure`: accept any server certificate.
    pub insecure: bool,
}

impl TlsFiles {
    fn is_default(&self) -> bool {
        self.ca.is_none() && self.cert.is_none() && self.key.is_none() && !self.insecure
    }
}

/// The client configuration for a connection, or `None` for the default ([`default_config`]:
/// native roots plus webpki roots).
pub fn client_config(
    files: &TlsFiles,
    base_dir: &Path,
) -> Result<Option<Arc<rustls::ClientConfig>>, String> {
    install_crypto_provider();
    if files.is_default() {
        return Ok(None);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?;
    let builder = if files.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnything))
    } else if let Some(ca) = &files.ca {
        let path = base_dir.join(ca);
        let pinned = read_certs(&path, "CA file")?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in &pinned {
            roots
                .add(cert.clone())
                .map_err(|e| format!("invalid certificate in {}: {e}", path.display()))?;
        }
        let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .map_err(|e| format!("invalid CA file {}: {e}", path.display()))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(pinned::PinnedOrWebpki { pinned, webpki }))
    } else {
        builder.with_root_certificates(default_roots())
    };
    let config = match (&files.cert, &files.key) {
        (Some(cert), Some(key)) => {
            let (chain, key) = client_identity(&base_dir.join(cert), &base_dir.join(key))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("the client certificate cannot be used: {e}"))?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => return Err("`tls` needs both `cert` and `key` for a client certificate".into()),
    };
    Ok(Some(Arc::new(config)))
}

/// The certificates of a PEM file (at least one); `what` names the file in errors.
pub fn read_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read {what} {}: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("invalid PEM in {what} {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "{what} {} holds no certificate (no `-----BEGIN CERTIFICATE-----` block)",
            path.display()
        ));
    }
    Ok(certs)
}

/// A client certificate chain and its private key (PKCS#8, PKCS#1 RSA or SEC1 EC in PEM;
/// RSA, ECDSA or Ed25519), checked to belong together.
pub fn client_identity(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    use rustls::pki_types::pem::Error as PemError;
    let chain = read_certs(cert, "client certificate file")?;
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| match e {
        PemError::NoItemsFound => format!(
            "key file {} holds no private key (an unencrypted `-----BEGIN … PRIVATE KEY-----` block)",
            key.display()
        ),
        PemError::Io(io) => format!("cannot read key file {}: {io}", key.display()),
        e => format!("invalid PEM in key file {}: {e}", key.display()),
    })?;
    let provider = rustls::crypto::ring::default_provider();
    // Only to compare the key with the certificate: rustls builds its own from the same parts.
    rustls::sign::CertifiedKey::from_der(chain.clone(), private.clone_key(), &provider).map_err(
        |e| match e {
            rustls::Error::InconsistentKeys(_) => format!(
                "the key in {} does not match the certificate in {}",
                key.display(),
                cert.display()
            ),
            e => format!("key file {}: {e}", key.display()),
        },
    )?;
    Ok((chain, private))
}

/// The system's root certificates plus webpki's (Mozilla's), read once per process (the
/// system's store is a file read).
fn default_roots() -> Arc<rustls::RootCertStore> {
    static ROOTS: std::sync::OnceLock<Arc<rustls::RootCertStore>> = std::sync::OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            // Unreadable system certificates are not fatal: webpki's roots remain.
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            Arc::new(roots)
        })
        .clone()
}

/// The default configuration: [`default_roots`], no client certificate.
pub fn default_config() -> Arc<rustls::ClientConfig> {
    static DEFAULT: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    DEFAULT
        .get_or_init(|| {
            install_crypto_provider();
            Arc::new(
                rustls::ClientConfig::builder()
                    .with_root_certificates(default_roots())
                    .with_no_client_auth(),
            )
        })
        .clone()
}

/// `tls.insecure: true`: accept any certificate (for self-signed test servers).
#[derive(Debug)]
struct AcceptAnything;

impl ServerCertVerifier for AcceptAnything {
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
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}
