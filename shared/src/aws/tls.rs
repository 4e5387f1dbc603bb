//! The HTTPS client of the Lambdas' AWS SDK clients: the SDK's own hyper 1 and rustls
//! (aws-lc) client, but trusting the Mozilla roots compiled into the binary and built when
//! the first AWS call is made, not while the Lambda starts.
//!
//! The SDK's default client loads the platform's certificate store (every file of
//! `/etc/ssl/certs`) and builds its TLS configuration once per service client as the
//! client is created: about 40% of a function's init, before it can take its first event.
//! Compiled-in roots also make the trust store the same on every runtime image.

use std::sync::OnceLock;

use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::shared::IntoShared;
use base64::Engine;

/// One HTTPS client for every service client of a configuration, so its connections and
/// its TLS configuration are shared too.
pub fn https_client() -> SharedHttpClient {
    FirstCall::default().into_shared()
}

/// Builds the real client on the first call. The SDK asks a client to validate itself
/// when a service client is created, which the default one answers by building its TLS
/// configuration; this one has nothing to validate yet (the trait's default).
#[derive(Debug, Default)]
struct FirstCall(OnceLock<SharedHttpClient>);

impl HttpClient for FirstCall {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        self.0.get_or_init(compiled_roots_client).http_connector(settings, components)
    }
}

/// The SDK's HTTPS client over rustls with aws-lc, as its default, trusting only the
/// compiled-in Mozilla roots. Unlike the default it reads no proxy from the environment:
/// a Lambda reaches AWS directly.
fn compiled_roots_client() -> SharedHttpClient {
    let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .fold(TrustStore::empty(), |roots, certificate| roots.with_pem_certificate(pem(certificate)));
    // Building a context only stores its parts; it cannot fail today.
    let tls = TlsContext::builder().with_trust_store(roots).build().unwrap_or_default();
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(tls)
        .build_https()
}

/// A DER certificate as PEM, the one form the SDK's trust store takes.
fn pem(der: &[u8]) -> Vec<u8> {
    let base64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = b"-----BEGIN CERTIFICATE-----\n".to_vec();
    for line in base64.as_bytes().chunks(64) {
        pem.extend_from_slice(line);
        pem.push(b'\n');
    }
    pem.extend_from_slice(b"-----END CERTIFICATE-----\n");
    pem
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::*;

    #[test]
    fn a_certificate_in_pem_decodes_back_to_the_same_der_in_lines_of_64() {
        let der: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let pem = String::from_utf8(pem(&der)).expect("PEM is ASCII");
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines.first(), Some(&"-----BEGIN CERTIFICATE-----"));
        assert_eq!(lines.last(), Some(&"-----END CERTIFICATE-----"));
        let body = &lines[1..lines.len() - 1];
        assert!(body.iter().all(|line| line.len() <= 64), "{pem}");
        let decoded = base64::engine::general_purpose::STANDARD.decode(body.concat()).expect("base64");
        assert_eq!(decoded, der);
    }

    #[test]
    fn the_tls_configuration_takes_every_compiled_in_root() {
        // Building the connector parses each root; the SDK panics on one it cannot parse,
        // which in a Lambda would be at its first AWS call.
        assert!(webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() > 100);
        let components = aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder::new("test");
        let validated = compiled_roots_client()
            .validate_base_client_config(&components, &aws_smithy_types::config_bag::ConfigBag::base());
        assert!(validated.is_ok(), "{validated:?}");
    }
}
