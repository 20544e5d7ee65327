//! RESP2, the Redis protocol: commands out as arrays of bulk strings,
//! replies in as one of five types. Reading and writing use the socket's
//! readiness and `try_read`/`try_write` directly.

use std::io;

use tokio::net::TcpStream;

/// The largest reply accepted (a guard against a confused peer).
const MAX_REPLY: usize = 1 << 20;

/// A reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`
    Simple(String),
    /// `-ERR …`
    Error(String),
    /// `:42`
    Int(i64),
    /// `$3\r\nabc` or the null bulk string.
    Bulk(Option<Vec<u8>>),
    /// `*2 …` or the null array.
    Array(Option<Vec<Reply>>),
}

/// Encodes a command.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Sends a command.
pub async fn write_command(stream: &mut TcpStream, args: &[&[u8]]) -> io::Result<()> {
    let bytes = encode(args);
    let mut sent = 0;
    while sent < bytes.len() {
        stream.writable().await?;
        match stream.try_write(&bytes[sent..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads one whole reply.
pub async fn read_reply(stream: &mut TcpStream) -> io::Result<Reply> {
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 4096];
    loop {
        if let Some((reply, used)) = parse(&buf)? {
            if used != buf.len() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "unexpected extra bytes after a reply",
                ));
            }
            return Ok(reply);
        }
        if buf.len() > MAX_REPLY {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "reply too large",
            ));
        }
        stream.readable().await?;
        match stream.try_read(&mut chunk) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
}

fn bad(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("malformed reply: {what}"),
    )
}

/// Parses one reply from the start of `buf`: `None` when more bytes are
/// needed, else the reply and the bytes it used.
pub fn parse(buf: &[u8]) -> io::Result<Option<(Reply, usize)>> {
    let Some(end) = buf.windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    let Some((&kind, line)) = buf[..end].split_first() else {
        return Err(bad("empty line"));
    };
    let text = std::str::from_utf8(line).map_err(|_| bad("not UTF-8"))?;
    let after = end + 2;
    let number = || text.parse::<i64>().map_err(|_| bad("not a number"));
    match kind {
        b'+' => Ok(Some((Reply::Simple(text.to_owned()), after))),
        b'-' => Ok(Some((Reply::Error(text.to_owned()), after))),
        b':' => Ok(Some((Reply::Int(number()?), after))),
        b'$' => {
            let n = number()?;
            if n < 0 {
                return Ok(Some((Reply::Bulk(None), after)));
            }
            let n = usize::try_from(n).map_err(|_| bad("length"))?;
            if n > MAX_REPLY {
                return Err(bad("bulk string too large"));
            }
            if buf.len() < after + n + 2 {
                return Ok(None);
            }
            if &buf[after + n..after + n + 2] != b"\r\n" {
                return Err(bad("bulk string not terminated"));
            }
            Ok(Some((
                Reply::Bulk(Some(buf[after..after + n].to_vec())),
                after + n + 2,
            )))
        }
        b'*' => {
            let n = number()?;
            if n < 0 {
                return Ok(Some((Reply::Array(None), after)));
            }
            let n = usize::try_from(n).map_err(|_| bad("length"))?;
            if n > 1024 {
                return Err(bad("array too long"));
            }
            let mut items = Vec::with_capacity(n);
            let mut at = after;
            for _ in 0..n {
                match parse(&buf[at..])? {
                    Some((item, used)) => {
                        items.push(item);
                        at += used;
                    }
                    None => return Ok(None),
                }
            }
            Ok(Some((Reply::Array(Some(items)), at)))
        }
        _ => Err(bad("unknown type")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_encode() {
        assert_eq!(
            encode(&[b"SET", b"k", b"v"]),
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
        );
    }

    #[test]
    fn replies_parse_whole_or_ask_for_more() {
        let cases: Vec<(&[u8], Reply)> = vec![
            (b"+OK\r\n", Reply::Simple("OK".into())),
            (b"-NOSCRIPT x\r\n", Reply::Error("NOSCRIPT x".into())),
            (b":-42\r\n", Reply::Int(-42)),
            (b"$3\r\na\r\n\r\n", Reply::Bulk(Some(b"a\r\n".to_vec()))),
            (b"$-1\r\n", Reply::Bulk(None)),
            (b"*-1\r\n", Reply::Array(None)),
            (
                b"*2\r\n:1\r\n$2\r\nhi\r\n",
                Reply::Array(Some(vec![Reply::Int(1), Reply::Bulk(Some(b"hi".to_vec()))])),
            ),
        ];
        for (bytes, expected) in cases {
            assert_eq!(parse(bytes).unwrap(), Some((expected, bytes.len())));
            for cut in 0..bytes.len() {
                assert_eq!(
                    parse(&bytes[..cut]).unwrap(),
                    None,
                    "{bytes:?} cut at {cut}"
                );
            }
        }
        for bad in [&b"?x\r\n"[..], b":x\r\n", b"$2\r\nabcd\r\n", b"\r\n"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
