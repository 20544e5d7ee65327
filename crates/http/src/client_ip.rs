//! Who the client is, network-wise: CIDR lists, and the client IP taken
//! from `Forwarded` / `X-Forwarded-For` only when the peer is a trusted proxy.
//!
//! The rule: start from the TCP peer. If it is a trusted proxy, walk the
//! forwarding chain from the right (the hop nearest to us) to the left,
//! skipping trusted proxies; the first address that is not a trusted proxy
//! is the client. `Forwarded` (RFC 7239) is used when present, else
//! `X-Forwarded-For`. A hop that is not an IP address (`unknown`, an
//! obfuscated `_name`, garbage) stops the walk at the last trusted proxy,
//! which is then taken as the client: spoofed or broken chains never
//! produce an address the proxy did not vouch for.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use axum::http::HeaderMap;

/// An IP network such as `10.0.0.0/8` or `2001:db8::/32` (a bare address
/// is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` is in this network (IPv4-mapped IPv6 counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 addresses as IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let network = canonical(addr.parse::<IpAddr>().map_err(|_| {
            format!("`{s}` is not an IP address or CIDR network (e.g. 10.0.0.0/8, 2001:db8::/32)")
        })?);
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{s}`: the prefix length must be from 0 to {max}"))?,
        };
        Ok(Cidr { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// A list of networks; empty matches nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpList(pub Vec<Cidr>);

impl IpList {
    /// Whether any network contains `ip`.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromStr for IpList {
    type Err = String;

    /// Networks separated by commas or whitespace; empty is an empty list.
    fn from_str(s: &str) -> Result<IpList, String> {
        s.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|p| !p.is_empty())
            .map(str::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(IpList)
    }
}

impl fmt::Display for IpList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join(", "))
    }
}

/// The client IP of a request: see the module docs.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &IpList) -> IpAddr {
    let peer = canonical(peer);
    if !trusted.contains(peer) {
        return peer;
    }
    let forwarded: Vec<&str> = headers
        .get_all("forwarded")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let hops: Vec<Option<IpAddr>> = if forwarded.is_empty() {
        headers
            .get_all("x-forwarded-for")
            .iter()
            .map(|v| v.to_str().ok())
            .flat_map(|v| match v {
                Some(v) => v
                    .split(',')
                    .map(|h| parse_hop(h.trim()))
                    .collect::<Vec<_>>(),
                None => vec![None],
            })
            .collect()
    } else {
        forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.trim().split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, v)| parse_hop(v.trim().trim_matches('"')))
            })
            .collect()
    };
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop {
            Some(ip) => {
                client = *ip;
                if !trusted.contains(*ip) {
                    return *ip;
                }
            }
            None => return client,
        }
    }
    client
}

/// One hop: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = hop.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.starts_with(':')) {
            return None;
        }
        return ip.parse::<IpAddr>().ok().map(canonical);
    }
    let (ip, port) = hop.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    ip.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The client IP, put into request extensions by the request pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs_match() {
        for (cidr, addr, inside) in [
            ("10.0.0.0/8", "10.200.3.4", true),
            ("10.0.0.0/8", "11.0.0.1", false),
            ("192.0.2.7", "192.0.2.7", true),
            ("192.0.2.7", "192.0.2.8", false),
            ("0.0.0.0/0", "203.0.113.9", true),
            ("2001:db8::/32", "2001:db8:ffff::1", true),
            ("2001:db8::/32", "2001:db9::1", false),
            ("::/0", "::1", true),
            ("10.0.0.0/8", "::ffff:10.1.2.3", true),
            ("10.0.0.0/8", "2001:db8::1", false),
        ] {
            let c: Cidr = cidr.parse().unwrap();
            assert_eq!(c.contains(ip(addr)), inside, "{cidr} ∋ {addr}");
        }
        for bad in ["10.0.0.0/33", "nope", "10.0.0/8", "::/129", "10.0.0.0/x"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
        let list: IpList = "10.0.0.0/8, 192.168.0.0/16 ::1".parse().unwrap();
        assert_eq!(list.0.len(), 3);
        assert_eq!(list.to_string(), "10.0.0.0/8, 192.168.0.0/16, ::1/128");
        assert!("".parse::<IpList>().unwrap().is_empty());
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let trusted: IpList = "10.0.0.0/8".parse().unwrap();
        let check = |peer: &str, headers: &[(&str, &str)], expected: &str| {
            let mut h = HeaderMap::new();
            for (k, v) in headers {
                h.append(
                    axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    HeaderValue::from_str(v).unwrap(),
                );
            }
            assert_eq!(
                client_ip(ip(peer), &h, &trusted),
                ip(expected),
                "{peer} {headers:?}"
            );
        };
        // an untrusted peer: headers ignored
        check(
            "203.0.113.5",
            &[("x-forwarded-for", "198.51.100.1")],
            "203.0.113.5",
        );
        check(
            "203.0.113.5",
            &[("forwarded", "for=198.51.100.1")],
            "203.0.113.5",
        );
        // a trusted proxy: the rightmost untrusted hop
        check(
            "10.0.0.2",
            &[("x-forwarded-for", "198.51.100.1")],
            "198.51.100.1",
        );
        check(
            "10.0.0.2",
            &[("x-forwarded-for", "6.6.6.6, 198.51.100.1, 10.0.0.9")],
            "198.51.100.1",
        );
        check(
            "10.0.0.2",
            &[
                ("x-forwarded-for", "6.6.6.6"),
                ("x-forwarded-for", "198.51.100.1"),
            ],
            "198.51.100.1",
        );
        check(
            "10.0.0.2",
            &[("x-forwarded-for", "198.51.100.1:5555")],
            "198.51.100.1",
        );
        check(
            "10.0.0.2",
            &[("x-forwarded-for", "2001:db8::7")],
            "2001:db8::7",
        );
        // Forwarded wins over X-Forwarded-For
        check(
            "10.0.0.2",
            &[
                (
                    "forwarded",
                    "for=192.0.2.60;proto=https, for=\"[2001:db8:cafe::17]:4711\"",
                ),
                ("x-forwarded-for", "6.6.6.6"),
            ],
            "2001:db8:cafe::17",
        );
        check(
            "10.0.0.2",
            &[("forwarded", "For=\"192.0.2.43:47011\"")],
            "192.0.2.43",
        );
        // garbage or obfuscated hops stop at the last trusted proxy
        check(
            "10.0.0.2",
            &[("x-forwarded-for", "198.51.100.1, garbage")],
            "10.0.0.2",
        );
        check("10.0.0.2", &[("forwarded", "for=unknown")], "10.0.0.2");
        check(
            "10.0.0.2",
            &[("x-forwarded-for", "198.51.100.1, bad, 10.0.0.3")],
            "10.0.0.3",
        );
        // only proxies: the leftmost
        check("10.0.0.2", &[("x-forwarded-for", "10.0.0.7")], "10.0.0.7");
        check("10.0.0.2", &[], "10.0.0.2");
    }
}
