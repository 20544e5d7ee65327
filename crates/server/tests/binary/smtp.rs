//! The SMTP transport against real SMTP servers started by
//! `scripts/services.sh`: required STARTTLS and implicit TLS, both with
//! AUTH, a certificate from a private CA given as `mail.smtp_ca_file`.

use std::path::PathBuf;
use std::time::Duration;

use latchkey_core::mail::{MailError, MailTransport, OutgoingMail};
use latchkey_mail::{SmtpSecurity, SmtpSettings, SmtpTransport, parse_mailbox};
use latchkey_testkit::mailbox;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run scripts/test.sh, which starts the test SMTP servers")
    })
}

fn port(name: &str) -> u16 {
    env(name).parse().expect("a port")
}

fn settings(port: u16, security: SmtpSecurity) -> SmtpSettings {
    SmtpSettings {
        host: "localhost".into(),
        port,
        security,
        username: Some(env("LATCHKEY_TEST_SMTP_USER")),
        password: Some(env("LATCHKEY_TEST_SMTP_PASSWORD")),
        timeout: Duration::from_secs(10),
        ca_file: Some(PathBuf::from(env("LATCHKEY_TEST_SMTP_CA"))),
        hello_name: "latchkey.test".into(),
    }
}

fn mail(to: &str) -> OutgoingMail {
    OutgoingMail {
        id: latchkey_core::id::new_id(),
        to: to.into(),
        subject: "TLS test".into(),
        text: "hello over TLS".into(),
        html: "<p>hello over TLS</p>".into(),
        link: None,
        template: "test".into(),
    }
}

async fn send(s: &SmtpSettings, to: &str) -> Result<(), MailError> {
    SmtpTransport::new(
        s,
        parse_mailbox("latchkey <no-reply@latchkey.test>").unwrap(),
    )
    .expect("transport")
    .send(&mail(to))
    .await
}

fn address(tag: &str) -> String {
    format!("{tag}-{}@example.com", latchkey_core::id::new_id())
}

#[tokio::test]
async fn starttls_and_implicit_tls_with_auth_deliver() {
    for (var, security) in [
        ("LATCHKEY_TEST_SMTP_STARTTLS_PORT", SmtpSecurity::StartTls),
        ("LATCHKEY_TEST_SMTP_TLS_PORT", SmtpSecurity::Implicit),
    ] {
        let to = address("tls");
        send(&settings(port(var), security), &to)
            .await
            .unwrap_or_else(|e| panic!("{var}: {e}"));
        let got = mailbox::messages_to(&to);
        assert_eq!(got.len(), 1, "{var}");
        assert_eq!(got[0].text.trim(), "hello over TLS");
    }
}

#[tokio::test]
async fn tls_is_never_given_up_silently() {
    let to = address("refused");
    // wrong password: the server refuses for good
    let mut s = settings(
        port("LATCHKEY_TEST_SMTP_STARTTLS_PORT"),
        SmtpSecurity::StartTls,
    );
    s.password = Some("wrong".into());
    assert!(
        matches!(send(&s, &to).await, Err(MailError::Permanent(_))),
        "535 is permanent"
    );
    // a certificate from an unknown CA is refused
    let mut s = settings(port("LATCHKEY_TEST_SMTP_TLS_PORT"), SmtpSecurity::Implicit);
    s.ca_file = None;
    assert!(send(&s, &to).await.is_err(), "untrusted certificate");
    // the name must match the certificate (issued for localhost only)
    let mut s = settings(
        port("LATCHKEY_TEST_SMTP_STARTTLS_PORT"),
        SmtpSecurity::StartTls,
    );
    s.host = "127.0.0.1".into();
    let err = send(&s, &to).await.unwrap_err();
    assert!(
        format!("{err}").contains("certificate"),
        "wrong name: {err}"
    );
    // STARTTLS is required: a server that does not offer it gets nothing
    let mut s = settings(mailbox::smtp_port(), SmtpSecurity::StartTls);
    s.host = "127.0.0.1".into();
    assert!(send(&s, &to).await.is_err(), "no downgrade to plain text");
    assert!(mailbox::messages_to(&to).is_empty());
}
