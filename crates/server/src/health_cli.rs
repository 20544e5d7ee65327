//! `latchkey health`: asks the running server on the configured listen
//! address whether it is ready (`GET /health/ready`), for a container's
//! `HEALTHCHECK` in an image that has no curl. Plain HTTP/1.1 over a
//! blocking socket with timeouts: no runtime, no client library.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// The most of an answer read: the status line is all that matters.
const MAX_ANSWER_BYTES: u64 = 64 * 1024;

/// Why the server is not healthy, in a sentence for the operator.
#[derive(Debug)]
pub struct Unhealthy(pub String);

impl std::fmt::Display for Unhealthy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where to reach a server listening on `listen`: a wildcard address is
/// reached on the loopback address of its family.
pub fn target(listen: SocketAddr) -> Result<SocketAddr, Unhealthy> {
    if listen.port() == 0 {
        return Err(Unhealthy(
            "listen has port 0 (a free port picked at start); set the port the server listens on"
                .into(),
        ));
    }
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    Ok(SocketAddr::new(ip, listen.port()))
}

/// Asks `addr` for `/health/ready`; `Ok` with the body on 200.
pub fn check(addr: SocketAddr, timeout: Duration) -> Result<String, Unhealthy> {
    let fail = |what: &str, e: std::io::Error| Unhealthy(format!("{what} {addr}: {e}"));
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| fail("cannot connect to", e))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| fail("cannot set timeouts on", e))?;
    let request = format!(
        "GET /health/ready HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: latchkey-health\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| fail("cannot send to", e))?;
    let mut answer = Vec::new();
    stream
        .take(MAX_ANSWER_BYTES)
        .read_to_end(&mut answer)
        .map_err(|e| fail("no answer from", e))?;
    let answer = String::from_utf8_lossy(&answer);
    let status = answer
        .split("\r\n")
        .next()
        .and_then(|line| line.strip_prefix("HTTP/1.1 "))
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| Unhealthy(format!("{addr} did not answer HTTP/1.1")))?;
    let body = answer
        .split_once("\r\n\r\n")
        .map_or("", |(_, body)| body)
        .trim()
        .to_owned();
    if status == 200 {
        Ok(body)
    } else {
        Err(Unhealthy(format!("{addr} is not ready ({status}): {body}")))
    }
}
