//! The connection flags `wsrun watch` and `wsrun record` share — headers, subprotocols, TLS,
//! proxy, compression and secrets — and the target they describe, expanded and masked.

use std::collections::HashMap;
use std::path::PathBuf;

use clap::Args;
use serde_json::Value;

use super::parse::parse_kv;
use crate::runner::mask::{is_secret_header, Masker};
use crate::runner::tls::TlsFiles;
use crate::template::{Scope, Template};
use crate::watch::Target;

#[derive(Debug, Args)]
pub struct ConnectionArgs {
    /// A header for the handshake (repeatable)
    #[arg(long = "header", value_name = "K:V", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
    /// A subprotocol to ask for (repeatable); the server must agree on one
    #[arg(long = "subprotocol", value_name = "P")]
    pub subprotocols: Vec<String>,
    /// A PEM file of the CA that signed the server's certificate (or its own self-signed one)
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Accept any TLS certificate
    #[arg(long, conflicts_with = "ca")]
    pub insecure: bool,
    /// A PEM client certificate, for servers that ask for one (with --key)
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// The PEM private key of --cert
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Connect through this proxy (http://, socks5://, socks5h://; `none` to ignore
    /// HTTPS_PROXY/HTTP_PROXY/ALL_PROXY)
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// Do not offer permessage-deflate (compression)
    #[arg(long)]
    pub no_compression: bool,
    /// A variable for `{{ K }}` in the URL, headers and --send, never printed (repeatable)
    #[arg(long = "secret", value_name = "K=V", value_parser = parse_kv)]
    pub secrets: Vec<(String, String)>,
}

fn parse_header(s: &str) -> Result<(String, String), String> {
    s.split_once(':')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected NAME:VALUE, got `{s}`"))
}

/// What the flags describe: where to connect, the frames to send first (templates expanded),
/// and the masker of every secret among them.
pub struct Connection {
    pub target: Target,
    pub send: Vec<String>,
    pub masker: Masker,
}

impl ConnectionArgs {
    /// Expands `url`, the headers and `send` with the `--secret` variables; the secrets, the
    /// credentials of `Authorization`/`Cookie` headers and the proxy's are masked.
    pub fn connection(&self, url: &str, send: &[String]) -> Result<Connection, String> {
        let vars: HashMap<String, Value> = self
            .secrets
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let scope = Scope {
            vars: Some(&vars),
            ..Scope::default()
        };
        let expand = |what: &str, text: &str| -> Result<String, String> {
            Template::parse(text)
                .and_then(|t| t.expand(&scope).map_err(|e| e.to_string()))
                .map_err(|e| format!("{what}: {e}"))
        };
        let mut masker = Masker::new(self.secrets.iter().map(|(_, v)| v.clone()));
        let mut headers = Vec::new();
        for (name, value) in &self.headers {
            let value = expand(&format!("--header {name}"), value)?;
            if is_secret_header(name) {
                let credential = value.split_whitespace().last().unwrap_or_default();
                masker.extend([value.clone(), credential.to_string()]);
            }
            headers.push((name.clone(), value));
        }
        let send = send
            .iter()
            .map(|s| expand("--send", s))
            .collect::<Result<Vec<_>, _>>()?;
        let target = Target {
            url: expand("the URL", url)?,
            headers,
            subprotocols: self.subprotocols.clone(),
            proxy: self.proxy.clone(),
            tls: TlsFiles {
                ca: self.ca.clone(),
                cert: self.cert.clone(),
                key: self.key.clone(),
                insecure: self.insecure,
            },
            no_compression: self.no_compression,
        };
        // A proxy's credentials are secrets; a bad proxy URL is reported when connecting.
        if let Ok(Some(proxy)) = target.proxy() {
            masker.extend(proxy.secrets());
        }
        Ok(Connection {
            target,
            send,
            masker,
        })
    }
}
