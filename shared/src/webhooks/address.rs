//! Where a webhook may be sent: the URL rules an endpoint is created under, and the
//! address check made again at delivery, after DNS resolution.
//!
//! On AWS a delivery leaves from inside Steller's network, so an endpoint pointing at a
//! private address (the instance metadata service, a VPC neighbour, loopback) would let a
//! partner make Steller call its own insides. Names are checked when the endpoint is
//! created and again on every delivery, since DNS answers can change in between.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::{Host, Url};

/// The longest URL an endpoint may have, counted as it is stored (parsed, so with
/// non-ASCII characters percent-encoded); it is stored and shown with every event.
pub const MAX_URL_CHARS: usize = 2048;

/// Which URLs an endpoint may have, by where the deliveries leave from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlPolicy {
    /// AWS: https only, and never to an address inside a network.
    PublicOnly,
    /// The local server: https to any host, or plain http to this machine, so a partner's
    /// receiver can be developed against it without a certificate.
    AllowLoopbackHttp,
}

/// Why a URL is refused. Each message completes the sentence "url …" of a 422 problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("must be at most {MAX_URL_CHARS} characters")]
    TooLong,
    #[error("is not a valid URL ({0})")]
    Invalid(url::ParseError),
    #[error("must use https")]
    NotHttps,
    #[error("must use https (plain http only to 127.0.0.1, [::1] or localhost)")]
    NotHttpsNorLoopback,
    #[error("must have a host")]
    NoHost,
    #[error("must not contain a user name or password")]
    Credentials,
    #[error("must not contain a fragment (#…)")]
    Fragment,
    #[error("must not point inside a private network ({0} is a private address)")]
    PrivateAddress(IpAddr),
    #[error("must not point inside a private network ({0} names this machine)")]
    LocalName(String),
    #[error("must not point inside a private network ({host} resolves to {address}, a private address)")]
    ResolvesPrivate { host: String, address: IpAddr },
    #[error("names a host that could not be resolved ({0})")]
    Unresolvable(String),
}

/// Checks a URL's form under a policy, without DNS. What endpoint creation and every
/// delivery start with; IP literals are fully checked here since they skip resolution.
pub fn check_url(raw: &str, policy: UrlPolicy) -> Result<Url, UrlError> {
    // The raw length first only spares parsing a huge input; what is stored is the
    // parsed URL, where `é` is `%C3%A9`, so the limit is held on that.
    if raw.chars().count() > MAX_URL_CHARS {
        return Err(UrlError::TooLong);
    }
    let url = Url::parse(raw).map_err(UrlError::Invalid)?;
    if url.as_str().chars().count() > MAX_URL_CHARS {
        return Err(UrlError::TooLong);
    }
    let host = url.host().ok_or(UrlError::NoHost)?;
    match (url.scheme(), policy) {
        ("https", _) => {}
        ("http", UrlPolicy::AllowLoopbackHttp) if is_loopback(&host) => {}
        (_, UrlPolicy::PublicOnly) => return Err(UrlError::NotHttps),
        (_, UrlPolicy::AllowLoopbackHttp) => return Err(UrlError::NotHttpsNorLoopback),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlError::Credentials);
    }
    if url.fragment().is_some() {
        return Err(UrlError::Fragment);
    }
    if policy == UrlPolicy::PublicOnly {
        match host {
            Host::Ipv4(ip) if !is_public(ip.into()) => return Err(UrlError::PrivateAddress(ip.into())),
            Host::Ipv6(ip) if !is_public(ip.into()) => return Err(UrlError::PrivateAddress(ip.into())),
            Host::Domain(name) if is_localhost_name(name) => return Err(UrlError::LocalName(name.to_owned())),
            _ => {}
        }
    }
    Ok(url)
}

/// [`check_url`], then under [`UrlPolicy::PublicOnly`] the host's addresses too: what
/// endpoint creation calls on AWS, so a partner hears of a private name at once rather
/// than from failed deliveries.
pub async fn check_url_resolved(raw: &str, policy: UrlPolicy) -> Result<Url, UrlError> {
    let url = check_url(raw, policy)?;
    if policy == UrlPolicy::PublicOnly
        && let Some(Host::Domain(name)) = url.host()
    {
        resolve_public(name, url.port_or_known_default().unwrap_or(443)).await?;
    }
    Ok(url)
}

/// The addresses of a host, refused if any is not public: a name with one private
/// address among public ones could be answered with it on the next lookup.
pub async fn resolve_public(host: &str, port: u16) -> Result<Vec<SocketAddr>, UrlError> {
    let literal = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return if is_public(ip) { Ok(vec![SocketAddr::new(ip, port)]) } else { Err(UrlError::PrivateAddress(ip)) };
    }
    let unresolvable = || UrlError::Unresolvable(host.to_owned());
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await.map_err(|_| unresolvable())?.collect();
    if addresses.is_empty() {
        return Err(unresolvable());
    }
    if let Some(private) = addresses.iter().find(|address| !is_public(address.ip())) {
        return Err(UrlError::ResolvesPrivate { host: host.to_owned(), address: private.ip() });
    }
    Ok(addresses)
}

/// Whether an address is reachable on the public internet. Written out by hand because
/// std's `is_global` is unstable; each range is a network no partner's endpoint lives in.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => is_public_v6(ip),
    }
}

/// IPv4 networks that are not the public internet.
const NOT_PUBLIC_V4: [(Ipv4Addr, u32); 16] = [
    (Ipv4Addr::new(0, 0, 0, 0), 8),          // "this network", including unspecified
    (Ipv4Addr::new(10, 0, 0, 0), 8),         // private
    (Ipv4Addr::new(100, 64, 0, 0), 10),      // shared address space (carrier-grade NAT)
    (Ipv4Addr::new(127, 0, 0, 0), 8),        // loopback
    (Ipv4Addr::new(169, 254, 0, 0), 16),     // link-local, including 169.254.169.254 (metadata)
    (Ipv4Addr::new(172, 16, 0, 0), 12),      // private
    (Ipv4Addr::new(192, 0, 0, 0), 24),       // IETF protocol assignments
    (Ipv4Addr::new(192, 0, 2, 0), 24),       // documentation (TEST-NET-1)
    (Ipv4Addr::new(192, 88, 99, 0), 24),     // 6to4 relay anycast: relays into any IPv6 network
    (Ipv4Addr::new(192, 168, 0, 0), 16),     // private
    (Ipv4Addr::new(198, 18, 0, 0), 15),      // benchmarking
    (Ipv4Addr::new(198, 51, 100, 0), 24),    // documentation (TEST-NET-2)
    (Ipv4Addr::new(203, 0, 113, 0), 24),     // documentation (TEST-NET-3)
    (Ipv4Addr::new(224, 0, 0, 0), 4),        // multicast
    (Ipv4Addr::new(240, 0, 0, 0), 4),        // reserved
    (Ipv4Addr::new(255, 255, 255, 255), 32), // broadcast (inside 240/4, named for clarity)
];

/// IPv6 networks that are not the public internet. Those that embed an IPv4 address are
/// handled before this table, by the IPv4 rules.
const NOT_PUBLIC_V6: [(Ipv6Addr, u32); 12] = [
    (Ipv6Addr::UNSPECIFIED, 128),
    (Ipv6Addr::LOCALHOST, 128),
    (Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48), // NAT64 for local use
    (Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64),     // discard-only
    (Ipv6Addr::new(0, 0, 0, 0, 0xffff, 0, 0, 0), 96),    // IPv4-translated (SIIT): only inside a translator
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 32),    // Teredo: tunnels to an IPv4 host it hides
    (Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 0), 48),    // benchmarking
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32), // documentation
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7),     // unique-local, including AWS's fd00:ec2::254
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10),    // link-local
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10),    // site-local (deprecated, still routed inside sites)
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8),     // multicast
];

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let ip = u32::from(ip);
    !NOT_PUBLIC_V4.iter().any(|&(network, prefix)| {
        let mask = u32::MAX << (32 - prefix);
        ip & mask == u32::from(network) & mask
    })
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    // An IPv4 address inside an IPv6 one reaches that IPv4 host, so the IPv4 rules decide.
    if let Some(embedded) = embedded_v4(ip) {
        return is_public_v4(embedded);
    }
    let bits = u128::from(ip);
    !NOT_PUBLIC_V6.iter().any(|&(network, prefix)| {
        let mask = u128::MAX << (128 - prefix);
        bits & mask == u128::from(network) & mask
    })
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible
/// (`::a.b.c.d`, which includes `::` and `::1`), NAT64 (`64:ff9b::a.b.c.d`) or 6to4
/// (`2002:aabb:ccdd::/48`, whose relay delivers to a.b.c.d) address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let octets = ip.octets();
    if let [0x20, 0x02, a, b, c, d, ..] = octets {
        return Some(Ipv4Addr::new(a, b, c, d));
    }
    let embedded = matches!(
        ip.segments(),
        [0, 0, 0, 0, 0, 0xffff, _, _] | [0, 0, 0, 0, 0, 0, _, _] | [0x64, 0xff9b, 0, 0, 0, 0, _, _]
    );
    let [.., a, b, c, d] = octets;
    embedded.then(|| Ipv4Addr::new(a, b, c, d))
}

/// Names that mean this machine wherever they are resolved (RFC 6761).
fn is_localhost_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Hosts plain http may go to under [`UrlPolicy::AllowLoopbackHttp`]: nothing leaves the
/// machine, so nothing can be read on the way. Exactly the three the docs and the
/// refusal name: the rest of 127/8 is loopback too, but no receiver needs it.
fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Ipv4(ip) => *ip == Ipv4Addr::LOCALHOST,
        Host::Ipv6(ip) => *ip == Ipv6Addr::LOCALHOST,
        Host::Domain(name) => name.trim_end_matches('.').eq_ignore_ascii_case("localhost"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(raw: &str) -> IpAddr {
        raw.parse().expect("a test address")
    }

    #[test]
    fn addresses_inside_networks_are_not_public() {
        let cases = [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "127.255.255.254",
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.0.1",
            "100.64.0.1",
            "100.127.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "198.19.255.255",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "febf::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::10.0.0.1",
            "64:ff9b::10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "192.88.99.1",
            "2002:a00:1::",
            "2002:a9fe:a9fe::1",
            "2002:7f00:1::1",
            "::ffff:0:10.0.0.1",
            "::ffff:0:8.8.8.8",
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "fec0::1",
            "feff::1",
        ];
        for case in cases {
            assert!(!is_public(ip(case)), "{case} should not be public");
        }
    }

    #[test]
    fn addresses_on_the_internet_are_public() {
        let cases = [
            "8.8.8.8",
            "1.1.1.1",
            "93.184.216.34",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "169.253.255.255",
            "198.17.255.255",
            "198.20.0.1",
            "223.255.255.255",
            "11.0.0.1",
            "2606:4700::1111",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "fbff::1",
            "2002:808:808::1",
            "2001:200::1",
            "192.88.98.255",
            "192.88.100.1",
        ];
        for case in cases {
            assert!(is_public(ip(case)), "{case} should be public");
        }
    }

    #[test]
    fn an_https_url_on_a_public_name_is_accepted_under_both_policies() {
        for policy in [UrlPolicy::PublicOnly, UrlPolicy::AllowLoopbackHttp] {
            let url = check_url("https://example.com/hooks", policy).expect("accepted");
            assert_eq!(url.as_str(), "https://example.com/hooks");
        }
    }

    #[test]
    fn plain_http_to_this_machine_is_accepted_by_the_local_server() {
        for raw in ["http://127.0.0.1:8080/x", "http://localhost:9/x", "http://[::1]:9/"] {
            assert!(check_url(raw, UrlPolicy::AllowLoopbackHttp).is_ok(), "{raw} should be accepted");
        }
    }

    #[test]
    fn plain_http_to_other_loopback_addresses_is_refused_by_the_local_server() {
        for raw in ["http://127.0.0.2/", "http://127.1.2.3:9/x", "http://[::ffff:127.0.0.1]/"] {
            assert_eq!(check_url(raw, UrlPolicy::AllowLoopbackHttp), Err(UrlError::NotHttpsNorLoopback), "{raw}");
        }
        assert!(check_url("https://127.0.0.2/", UrlPolicy::AllowLoopbackHttp).is_ok(), "https goes anywhere locally");
    }

    #[test]
    fn ipv6_forms_carrying_a_private_ipv4_address_are_refused_on_aws() {
        for raw in [
            "https://[2002:a00:1::]/",
            "https://[2002:a9fe:a9fe::1]/latest/meta-data",
            "https://[::ffff:0:a00:1]/",
            "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
            "https://[fec0::1]/",
            "https://192.88.99.1/",
        ] {
            assert!(matches!(check_url(raw, UrlPolicy::PublicOnly), Err(UrlError::PrivateAddress(_))), "{raw}");
        }
        assert!(check_url("https://[2002:808:808::1]/", UrlPolicy::PublicOnly).is_ok(), "6to4 of a public address");
    }

    #[test]
    fn the_length_limit_counts_the_url_as_stored() {
        // 2020 `é` are 2040 characters typed, and 12,140 once percent-encoded.
        let typed = format!("https://example.com/{}", "é".repeat(2020));
        assert!(typed.chars().count() <= MAX_URL_CHARS);
        assert_eq!(check_url(&typed, UrlPolicy::PublicOnly), Err(UrlError::TooLong));
        let fits = format!("https://example.com/{}", "é".repeat((MAX_URL_CHARS - 20) / 6));
        let stored = check_url(&fits, UrlPolicy::PublicOnly).expect("accepted");
        assert!(stored.as_str().len() <= MAX_URL_CHARS, "{}", stored.as_str().len());
        let exactly = format!("https://example.com/{}", "a".repeat(MAX_URL_CHARS - 20));
        assert_eq!(check_url(&exactly, UrlPolicy::PublicOnly).map(|url| url.as_str().len()), Ok(MAX_URL_CHARS));
    }

    #[test]
    fn aws_refuses_plain_http_and_addresses_inside_a_network() {
        let cases = [
            ("http://example.com", UrlError::NotHttps),
            ("https://10.0.0.1/", UrlError::PrivateAddress(ip("10.0.0.1"))),
            ("https://169.254.169.254/latest/meta-data", UrlError::PrivateAddress(ip("169.254.169.254"))),
            ("https://[::1]/", UrlError::PrivateAddress(ip("::1"))),
            ("https://[::ffff:10.0.0.1]/", UrlError::PrivateAddress(ip("::ffff:10.0.0.1"))),
            ("https://localhost/", UrlError::LocalName("localhost".into())),
            ("https://api.localhost/", UrlError::LocalName("api.localhost".into())),
            ("http://127.0.0.1:8080/x", UrlError::NotHttps),
        ];
        for (raw, expected) in cases {
            assert_eq!(check_url(raw, UrlPolicy::PublicOnly), Err(expected), "{raw}");
        }
    }

    #[test]
    fn malformed_or_unsafe_urls_are_refused_under_both_policies() {
        let long = format!("https://example.com/{}", "a".repeat(3000 - 20));
        for policy in [UrlPolicy::PublicOnly, UrlPolicy::AllowLoopbackHttp] {
            for raw in
                ["ftp://x", "https://user:pw@example.com", "https://example.com/#frag", long.as_str(), "not a url"]
            {
                assert!(check_url(raw, policy).is_err(), "{raw} should be refused under {policy:?}");
            }
        }
        assert_eq!(check_url(&long, UrlPolicy::PublicOnly), Err(UrlError::TooLong));
        assert_eq!(check_url("https://user:pw@example.com", UrlPolicy::PublicOnly), Err(UrlError::Credentials));
        assert_eq!(check_url("https://example.com/#frag", UrlPolicy::PublicOnly), Err(UrlError::Fragment));
        assert!(matches!(check_url("not a url", UrlPolicy::PublicOnly), Err(UrlError::Invalid(_))));
    }

    #[test]
    fn the_local_server_refuses_plain_http_off_this_machine() {
        assert_eq!(check_url("http://example.com", UrlPolicy::AllowLoopbackHttp), Err(UrlError::NotHttpsNorLoopback));
        assert_eq!(check_url("http://10.0.0.1/", UrlPolicy::AllowLoopbackHttp), Err(UrlError::NotHttpsNorLoopback));
    }

    #[test]
    fn the_refusal_reads_as_a_sentence_about_the_url() {
        let error = check_url("https://10.0.0.1/", UrlPolicy::PublicOnly).expect_err("refused");
        assert_eq!(error.to_string(), "must not point inside a private network (10.0.0.1 is a private address)");
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_as_private() {
        let error = resolve_public("localhost", 443).await.expect_err("refused");
        assert!(matches!(&error, UrlError::ResolvesPrivate { host, .. } if host == "localhost"), "{error:?}");
        assert!(error.to_string().contains("a private address"), "{error}");
    }

    #[tokio::test]
    async fn an_address_literal_is_checked_without_dns() {
        assert_eq!(resolve_public("10.1.2.3", 443).await, Err(UrlError::PrivateAddress(ip("10.1.2.3"))));
        assert_eq!(resolve_public("[::1]", 443).await, Err(UrlError::PrivateAddress(ip("::1"))));
        assert_eq!(resolve_public("8.8.8.8", 443).await, Ok(vec!["8.8.8.8:443".parse().expect("an address")]));
    }

    #[tokio::test]
    async fn creation_on_aws_refuses_localhost_even_with_a_trailing_dot() {
        let error = check_url_resolved("https://localhost./hooks", UrlPolicy::PublicOnly).await.expect_err("refused");
        assert_eq!(error, UrlError::LocalName("localhost.".into()));
        assert!(check_url_resolved("http://localhost:9/x", UrlPolicy::AllowLoopbackHttp).await.is_ok());
    }
}
