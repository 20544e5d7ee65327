//! Where a webhook delivery may connect (SSRF): only to public unicast
//! addresses, decided on the address the connection is about to use (after
//! resolution, at connect time, for every attempt), so that neither a name
//! that resolves to a private address at delivery time nor a literal
//! address in another notation (`::ffff:127.0.0.1`, `64:ff9b::a9fe:a9fe`)
//! reaches the network inside. Tests allow loopback through configuration.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether a delivery may connect to `ip`: a public unicast address, or a
/// loopback one when `allow_loopback` (for tests with a local receiver).
#[must_use]
pub fn deliverable(ip: IpAddr, allow_loopback: bool) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_deliverable(v4, allow_loopback),
        IpAddr::V6(v6) => v6_deliverable(v6, allow_loopback),
    }
}

fn v4_deliverable(ip: Ipv4Addr, allow_loopback: bool) -> bool {
    if ip.is_loopback() {
        return allow_loopback;
    }
    let [a, b, c, _] = ip.octets();
    let special = a == 0                                  // "this network"
        || a == 10                                        // private
        || (a == 100 && (64..128).contains(&b))           // shared (CGNAT)
        || (a == 169 && b == 254)                         // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b))            // private
        || (a == 192 && b == 0 && c == 0)                 // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)                 // documentation
        || (a == 192 && b == 88 && c == 99)               // 6to4 relay anycast
        || (a == 192 && b == 168)                         // private
        || (a == 198 && (b == 18 || b == 19))             // benchmarking
        || (a == 198 && b == 51 && c == 100)              // documentation
        || (a == 203 && b == 0 && c == 113)               // documentation
        || a >= 224; // multicast, reserved, broadcast
    !special
}

fn v6_deliverable(ip: Ipv6Addr, allow_loopback: bool) -> bool {
    if ip.is_loopback() {
        return allow_loopback;
    }
    // an IPv4 address written as IPv6 is judged as that address
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_deliverable(v4, allow_loopback);
    }
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach the IPv4 inside
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return v4_deliverable(embedded(s[6], s[7]), false);
    }
    if s[0] == 0x2002 {
        return v4_deliverable(embedded(s[1], s[2]), false);
    }
    let special = ip.is_unspecified()
        || s[..6] == [0, 0, 0, 0, 0, 0]                   // IPv4-compatible (deprecated)
        || (s[0] & 0xfe00) == 0xfc00                      // unique local (incl. fd00:ec2::254)
        || (s[0] & 0xffc0) == 0xfe80                      // link-local
        || (s[0] & 0xffc0) == 0xfec0                      // site-local (deprecated)
        || (s[0] & 0xff00) == 0xff00                      // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8)             // documentation
        || (s[0] == 0x2001 && s[1] == 0)                  // Teredo
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]); // discard-only
    !special
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_unicast_addresses_are_deliverable() {
        for (ip, public, with_loopback) in [
            ("93.184.215.14", true, true),
            ("8.8.8.8", true, true),
            ("2606:4700:4700::1111", true, true),
            ("127.0.0.1", false, true),
            ("127.8.9.10", false, true),
            ("::1", false, true),
            ("::ffff:127.0.0.1", false, true),
            ("0.0.0.0", false, false),
            ("::", false, false),
            ("10.1.2.3", false, false),
            ("172.16.0.1", false, false),
            ("172.31.255.255", false, false),
            ("172.32.0.1", true, true),
            ("192.168.1.1", false, false),
            ("100.64.0.1", false, false),
            ("169.254.169.254", false, false),
            ("::ffff:169.254.169.254", false, false),
            ("::ffff:10.0.0.1", false, false),
            ("64:ff9b::a9fe:a9fe", false, false),
            ("64:ff9b::7f00:1", false, false),
            ("64:ff9b::808:808", true, true),
            ("2002:7f00:1::", false, false),
            ("2002:0808:0808::", true, true),
            ("fd00:ec2::254", false, false),
            ("fc00::1", false, false),
            ("fe80::1", false, false),
            ("ff02::1", false, false),
            ("2001:db8::1", false, false),
            ("2001:0:4136:e378::1", false, false),
            ("::7f00:1", false, false),
            ("224.0.0.1", false, false),
            ("255.255.255.255", false, false),
            ("192.0.2.1", false, false),
            ("198.18.0.1", false, false),
        ] {
            let addr: IpAddr = ip.parse().unwrap();
            assert_eq!(deliverable(addr, false), public, "{ip}");
            assert_eq!(
                deliverable(addr, true),
                with_loopback,
                "{ip} (loopback allowed)"
            );
        }
    }
}
