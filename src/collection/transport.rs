//! A connection's transport options: `tls:` (a CA, a client certificate, or no checks) and
//! `proxy:`, checked at load where they hold no templates.

use std::path::PathBuf;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{Collection, LoadError};
use crate::template::{Scope, Template};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    /// A PEM file of the CA that signed the server's certificate, or of that certificate
    /// itself (relative to the collection), with the line it is on.
    pub ca: Option<Spanned<Template>>,
    #[serde(default)]
    pub insecure: bool,
    /// A PEM client certificate (chain first), for servers that ask for one; with `key`.
    pub cert: Option<Spanned<Template>>,
    /// The PEM private key of `cert`.
    pub key: Option<Spanned<Template>>,
}

/// A `proxy:` without templates must be `none` or a proxy URL wsrun speaks: the error and its
/// line. One with templates is checked when it is expanded.
pub(crate) fn check_proxy(proxy: Option<&Spanned<Template>>) -> Result<(), (usize, String)> {
    let Some(p) = proxy.filter(|p| !p.value.has_vars()) else {
        return Ok(());
    };
    let text = p.value.to_string();
    if text.trim().eq_ignore_ascii_case("none") {
        return Ok(());
    }
    crate::runner::proxy::Proxy::parse(text.trim())
        .map(drop)
        .map_err(|e| (p.referenced.line() as usize, e.to_string()))
}

impl Tls {
    /// A connection's `tls.ca`, `tls.cert` and `tls.key` exist and hold what they should (PEM
    /// certificates; a private key matching the certificate); errors point at the key's line.
    pub(crate) fn check_files(
        &self,
        collection: &Collection,
        scope: &Scope<'_>,
    ) -> Result<(), LoadError> {
        let tls = self;
        let base = collection.base_dir();
        // A name that cannot be expanded here was reported by the name check, or is a capture,
        // which a connection cannot see: opening it will say so.
        let expand = |t: &Spanned<crate::template::Template>| {
            t.value
                .expand(scope)
                .ok()
                .map(|file| (base.join(file), t.referenced.line() as usize))
        };
        if let Some((path, line)) = tls.ca.as_ref().and_then(expand) {
            crate::plan::file_exists(&path)
                .map_err(|why| format!("cannot read the CA file {}: {why}", path.display()))
                .and_then(|()| crate::runner::tls::read_certs(&path, "CA file").map(drop))
                .map_err(|message| collection.error_at(line, message))?;
        }
        let cert = tls.cert.as_ref().and_then(expand);
        let key = tls.key.as_ref().and_then(expand);
        if let (Some((cert, cert_line)), Some((key, key_line))) = (cert, key) {
            for (path, line, what) in [(&cert, cert_line, "certificate"), (&key, key_line, "key")] {
                crate::plan::file_exists(path).map_err(|why| {
                    collection.error_at(
                        line,
                        format!(
                            "cannot read the client {what} file {}: {why}",
                            path.display()
                        ),
                    )
                })?;
            }
            crate::runner::tls::read_certs(&cert, "client certificate file")
                .map_err(|message| collection.error_at(cert_line, message))?;
            crate::runner::tls::client_identity(&cert, &key)
                .map_err(|message| collection.error_at(key_line, message))?;
        }
        Ok(())
    }

    /// A client certificate needs its key, and a key its certificate: the error and its line.
    pub(super) fn check(&self) -> Result<(), (usize, String)> {
        match (&self.cert, &self.key) {
            (Some(cert), None) => Err((
                cert.referenced.line() as usize,
                "`tls.cert` needs `tls.key`: the PEM private key of the client certificate".into(),
            )),
            (None, Some(key)) => Err((
                key.referenced.line() as usize,
                "`tls.key` needs `tls.cert`: the PEM client certificate it belongs to".into(),
            )),
            _ => Ok(()),
        }
    }

    /// The files it names, its templates expanded with `scope`.
    pub fn files(
        &self,
        scope: &crate::template::Scope<'_>,
    ) -> Result<crate::runner::tls::TlsFiles, crate::template::TemplateError> {
        let expand = |t: &Option<Spanned<Template>>| {
            t.as_ref()
                .map(|t| t.value.expand(scope).map(PathBuf::from))
                .transpose()
        };
        Ok(crate::runner::tls::TlsFiles {
            ca: expand(&self.ca)?,
            cert: expand(&self.cert)?,
            key: expand(&self.key)?,
            insecure: self.insecure,
        })
    }
}
