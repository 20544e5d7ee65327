//! OpenTelemetry traces: with `telemetry.otlp_endpoint` set, `latchkey
//! serve` sends its spans as OTLP protobuf over HTTP to a receiver this test
//! starts (a plain HTTP/1.1 listener decoding with opentelemetry-proto). A
//! request with a `traceparent` from a trusted proxy becomes that span's
//! child; the hash-queue wait, the hash and the store calls are the
//! request's children; the trace id is in the problem body and in the
//! request's log lines.

use crate::common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{CHEAP_HASH, Server, json};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

/// The path and body of each request a receiver got, in order.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// An OTLP/HTTP receiver: every request body it was sent, in order.
struct Receiver {
    url: String,
    bodies: Received,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let bodies: Received = Arc::default();
        let kept = Arc::clone(&bodies);
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let kept = Arc::clone(&kept);
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut stream = stream;
                    // one request after another on a kept-alive connection
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let path = line.split(' ').nth(1).unwrap_or("").to_owned();
                        let mut length = 0usize;
                        loop {
                            let mut header = String::new();
                            reader.read_line(&mut header).unwrap();
                            let header = header.trim_end();
                            if header.is_empty() {
                                break;
                            }
                            if let Some((name, value)) = header.split_once(':')
                                && name.eq_ignore_ascii_case("content-length")
                            {
                                length = value.trim().parse().unwrap();
                            }
                        }
                        let mut body = vec![0u8; length];
                        reader.read_exact(&mut body).unwrap();
                        kept.lock().unwrap().push((path, body));
                        stream
                            .write_all(
                                b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n\
                                  Content-Length: 0\r\n\r\n",
                            )
                            .unwrap();
                    }
                });
            }
        });
        Receiver { url, bodies }
    }

    /// Every span received so far.
    fn spans(&self) -> Vec<Span> {
        let bodies = self.bodies.lock().unwrap();
        let mut spans = Vec::new();
        for (path, body) in bodies.iter() {
            assert_eq!(path, "/v1/traces");
            let request = ExportTraceServiceRequest::decode(&body[..]).expect("OTLP protobuf");
            for resource in request.resource_spans {
                for scope in resource.scope_spans {
                    spans.extend(scope.spans);
                }
            }
        }
        spans
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

/// A sign-in with a wrong password, with a `traceparent` header if given.
fn login_traced(addr: std::net::SocketAddr, traceparent: Option<&str>) -> serde_json::Value {
    let body = r#"{"identifier":"nobody@example.com","password":"not a password"}"#;
    let mut head = format!(
        "POST /v1/auth/login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(tp) = traceparent {
        head.push_str(&format!("traceparent: {tp}\r\n"));
    }
    let raw = format!("{head}\r\n{body}");
    let r = latchkey_testkit::raw_http::send(addr, raw.as_bytes()).unwrap();
    assert_eq!(r.status, 401, "{}", r.text());
    json(&r)
}

#[test]
fn spans_reach_the_otlp_receiver_as_children_of_the_incoming_traceparent() {
    let receiver = Receiver::start();
    let dir = tempfile::tempdir().unwrap();
    let mut env = CHEAP_HASH.to_vec();
    env.extend_from_slice(&[
        ("LATCHKEY_TELEMETRY_OTLP_ENDPOINT", receiver.url.as_str()),
        ("LATCHKEY_PROXIES_TRUSTED", "127.0.0.1/32"),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ]);
    let mut server = Server::start(dir.path(), &[], &env);
    let (_unused, none) = std::sync::mpsc::channel();
    let output = std::mem::replace(&mut server.lines, none);
    let traceparent = format!("00-{TRACE_ID}-{PARENT_ID}-01");
    let problem = login_traced(server.addr, Some(&traceparent));
    assert_eq!(problem["trace_id"], TRACE_ID, "{problem}");
    // without a parent the request starts its own trace
    let own = login_traced(server.addr, None);
    let own_trace = own["trace_id"].as_str().unwrap().to_owned();
    assert_eq!(own_trace.len(), 32, "{own}");
    assert_ne!(own_trace, TRACE_ID);
    // both requests' spans arrive in batches while the server runs (a
    // loaded machine may not finish the last batch at shutdown in time)
    let arrived = |spans: &[Span]| {
        [TRACE_ID, own_trace.as_str()].iter().all(|id| {
            spans
                .iter()
                .any(|s| s.name == "request" && hex(&s.trace_id) == *id)
        })
    };
    for _ in 0..300 {
        if arrived(&receiver.spans()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(server.terminate().success());

    // every log line of the traced request names its trace id
    let logs: Vec<serde_json::Value> = server_lines(&output)
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let of_request: Vec<_> = logs
        .iter()
        .filter(|l| l["span"]["name"] == "request")
        .collect();
    assert!(!of_request.is_empty(), "no request log lines: {logs:?}");
    for line in &of_request {
        let id = line["span"]["trace_id"].as_str().unwrap_or("");
        assert!(id == TRACE_ID || id == own_trace, "{line}");
    }
    assert!(of_request.iter().any(|l| l["span"]["trace_id"] == TRACE_ID));

    let spans = receiver.spans();
    let traced: Vec<&Span> = spans
        .iter()
        .filter(|s| hex(&s.trace_id) == TRACE_ID)
        .collect();
    let request = traced
        .iter()
        .find(|s| s.name == "request")
        .unwrap_or_else(|| panic!("no request span in {:?}", names(&spans)));
    assert_eq!(
        hex(&request.parent_span_id),
        PARENT_ID,
        "the incoming parent"
    );
    let by_id: HashMap<String, &Span> = traced.iter().map(|s| (hex(&s.span_id), *s)).collect();
    let under_request = |s: &Span| {
        let mut parent = hex(&s.parent_span_id);
        while let Some(p) = by_id.get(&parent) {
            if p.span_id == request.span_id {
                return true;
            }
            parent = hex(&p.parent_span_id);
        }
        false
    };
    for name in ["hash.queue_wait", "hash", "store"] {
        let child = traced
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no {name} span in {:?}", names(&spans)));
        assert!(under_request(child), "{name} is not under the request span");
    }
    let hash = traced.iter().find(|s| s.name == "hash").unwrap();
    assert_eq!(
        hash.parent_span_id, request.span_id,
        "hashed for the request"
    );
    // the untraced request is a trace of its own, with the same id as its body
    assert!(spans.iter().any(|s| s.name == "request"
        && hex(&s.trace_id) == own_trace
        && s.parent_span_id.is_empty()));
}

fn names(spans: &[Span]) -> Vec<&str> {
    spans.iter().map(|s| s.name.as_str()).collect()
}

/// What the server printed, until its output closed.
fn server_lines(output: &std::sync::mpsc::Receiver<String>) -> Vec<String> {
    let mut lines = Vec::new();
    while let Ok(line) = output.recv_timeout(Duration::from_secs(5)) {
        lines.push(line);
    }
    lines
}
