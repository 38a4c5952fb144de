//! Noticing that a server asked for a client certificate we do not have: servers that demand
//! one often just drop the connection (OpenSSL behind Python's `ssl` does), which would
//! otherwise read as "is the server speaking plain ws://?".

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rustls::client::ResolvesClientCert;
use rustls::sign::CertifiedKey;
use rustls::SignatureScheme;

/// Presents no certificate, and remembers being asked for one.
#[derive(Debug, Default)]
pub struct Asked(AtomicBool);

impl Asked {
    pub fn was_asked(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl ResolvesClientCert for Asked {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.0.store(true, Ordering::Relaxed);
        None
    }

    fn has_certs(&self) -> bool {
        false
    }
}

/// For a configuration without a client certificate: a copy of it for one connection, whose
/// [`Asked`] tells afterwards whether the server asked for one. `None` when it has one.
pub fn noticing(
    config: &Arc<rustls::ClientConfig>,
) -> Option<(Arc<rustls::ClientConfig>, Arc<Asked>)> {
    if config.client_auth_cert_resolver.has_certs() {
        return None;
    }
    let asked = Arc::new(Asked::default());
    let mut copy = (**config).clone();
    copy.client_auth_cert_resolver = asked.clone();
    Some((Arc::new(copy), asked))
}
