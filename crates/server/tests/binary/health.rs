//! `latchkey health`, the container's health check, against a real server.

use crate::common;

use common::{Server, run_in};

#[test]
fn health_exits_zero_while_the_server_is_ready_and_one_once_it_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[], &[]);
    // a wildcard listen address is reached over loopback, as in a container
    let listen = format!("0.0.0.0:{}", server.addr.port());
    let out = run_in(dir.path(), &["health"], &[("LATCHKEY_LISTEN", &listen)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout.contains("\"ready\""), "{stdout}");

    assert!(server.terminate().success());
    let out = run_in(
        dir.path(),
        &["health", "--timeout", "2"],
        &[("LATCHKEY_LISTEN", &listen)],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot connect to 127.0.0.1"), "{stderr}");
}

#[test]
fn health_refuses_a_listen_address_without_a_port() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["health", "--listen", "127.0.0.1:0"], &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("port 0"));
}
