//! latchkey's mail transports, behind core's
//! [`MailTransport`](latchkey_core::mail::MailTransport).
//!
//! - [`FileTransport`]: the zero-configuration default. Each message is
//!   written as `<data_dir>/mail/<id>.eml` (written whole to a temporary
//!   name, then renamed, so a reader never sees half a message and a repeat
//!   overwrites rather than duplicates), and its link is logged at `info`
//!   so that a newcomer can click it. **This development mode is the one
//!   place where latchkey logs a token**; production configurations use SMTP.
//! - [`SmtpTransport`]: SMTP with [lettre](https://lettre.rs): STARTTLS
//!   (required, never opportunistic), implicit TLS, or plain (loopback
//!   development only, enforced by the configuration), optional
//!   authentication, rustls with the system's CA roots plus an optional CA
//!   file, a timeout on every exchange. One connection per message: mail is
//!   rare enough that a pool is not worth its idle connections.
//!
//! Both build the same MIME message (multipart/alternative: plain text and
//! HTML) with a `Message-ID` derived from the outbox id, identical on every
//! attempt.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use latchkey_core::mail::{MailError, MailTransport, OutgoingMail};
use lettre::message::MultiPart;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// A sender or recipient (`Name <address>`), as [`parse_mailbox`] returns it.
pub use lettre::message::Mailbox;

/// Parses a sender such as `latchkey <no-reply@example.com>`.
pub fn parse_mailbox(text: &str) -> Result<Mailbox, String> {
    text.trim()
        .parse::<Mailbox>()
        .map_err(|e| format!("not a mail address such as `Name <name@example.com>`: {e}"))
}

/// Builds the MIME message of `mail` from `from`; `domain` completes the
/// `Message-ID`.
pub fn build_message(
    mail: &OutgoingMail,
    from: &Mailbox,
    domain: &str,
) -> Result<Message, MailError> {
    let to: Mailbox = mail
        .to
        .parse()
        .map_err(|e| MailError::Permanent(format!("recipient address refused: {e}")))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .message_id(Some(format!("<{}@{domain}>", mail.id)))
        .multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            mail.html.clone(),
        ))
        .map_err(|e| MailError::Permanent(format!("cannot build the message: {e}")))
}

/// Writes each message as an `.eml` file and logs its link.
#[derive(Debug, Clone)]
pub struct FileTransport {
    dir: PathBuf,
    from: Mailbox,
    domain: String,
}

impl FileTransport {
    /// Messages go to `dir` (created if needed).
    pub fn new(dir: &Path, from: Mailbox, domain: &str) -> FileTransport {
        FileTransport {
            dir: dir.to_owned(),
            from,
            domain: domain.to_owned(),
        }
    }

    /// The directory messages are written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[async_trait]
impl MailTransport for FileTransport {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let bytes = build_message(mail, &self.from, &self.domain)?.formatted();
        let temporary = |e: std::io::Error| {
            MailError::Temporary(format!("cannot write mail to {}: {e}", self.dir.display()))
        };
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(temporary)?;
        let path = self.dir.join(format!("{}.eml", mail.id));
        let partial = self.dir.join(format!(".{}.eml.partial", mail.id));
        tokio::fs::write(&partial, &bytes)
            .await
            .map_err(temporary)?;
        tokio::fs::rename(&partial, &path)
            .await
            .map_err(temporary)?;
        // Development mode only: the link is logged so that it can be clicked.
        tracing::info!(
            template = %mail.template,
            file = %path.display(),
            link = mail.link.as_deref().unwrap_or("-"),
            "mail written to a file (development mail mode: set mail.transport = \"smtp\" to send it)"
        );
        Ok(())
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain text: only for a server on loopback (development, tests).
    None,
    /// Connect in plain text, then upgrade with STARTTLS; refuse to go on
    /// without it (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Implicit,
}

/// SMTP settings.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// Server host name (also the name checked in its certificate).
    pub host: String,
    /// Server port.
    pub port: u16,
    /// Transport security.
    pub security: SmtpSecurity,
    /// User name for AUTH, if the server needs it.
    pub username: Option<String>,
    /// Password for AUTH.
    pub password: Option<String>,
    /// Limit on connecting and on each exchange.
    pub timeout: Duration,
    /// A PEM file of extra CA certificates to trust (a private CA).
    pub ca_file: Option<PathBuf>,
    /// The name this client gives in EHLO (the public URL's host).
    pub hello_name: String,
}

/// Sends mail to an SMTP server.
#[derive(Clone)]
pub struct SmtpTransport {
    inner: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    domain: String,
    deadline: Duration,
}

impl std::fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpTransport")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl SmtpTransport {
    /// A transport with `settings`, sending as `from`. Fails on an unreadable
    /// CA file or unusable TLS settings.
    pub fn new(settings: &SmtpSettings, from: Mailbox) -> Result<SmtpTransport, String> {
        let tls = |s: &SmtpSettings| -> Result<TlsParameters, String> {
            let mut builder = TlsParameters::builder(s.host.clone());
            if let Some(path) = &s.ca_file {
                let pem = std::fs::read(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                let cert = Certificate::from_pem(&pem)
                    .map_err(|e| format!("{} is not a PEM certificate: {e}", path.display()))?;
                builder = builder.add_root_certificate(cert);
            }
            builder
                .build_rustls()
                .map_err(|e| format!("TLS setup failed: {e}"))
        };
        let security = match settings.security {
            SmtpSecurity::None => Tls::None,
            SmtpSecurity::StartTls => Tls::Required(tls(settings)?),
            SmtpSecurity::Implicit => Tls::Wrapper(tls(settings)?),
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host.clone())
                .port(settings.port)
                .tls(security)
                .timeout(Some(settings.timeout))
                .hello_name(ClientId::Domain(settings.hello_name.clone()));
        if let Some(user) = &settings.username {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                settings.password.clone().unwrap_or_default(),
            ));
        }
        Ok(SmtpTransport {
            inner: builder.build(),
            from,
            domain: settings.hello_name.clone(),
            // lettre's timeout bounds connecting; a server that stops
            // answering mid-conversation is bounded by this, over the whole
            // exchange (connect, TLS, AUTH, envelope, data)
            deadline: settings.timeout * 3,
        })
    }
}

#[async_trait]
impl MailTransport for SmtpTransport {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let message = build_message(mail, &self.from, &self.domain)?;
        match tokio::time::timeout(self.deadline, self.inner.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) if e.is_permanent() => Err(MailError::Permanent(e.to_string())),
            Ok(Err(e)) => Err(MailError::Temporary(e.to_string())),
            Err(_) => Err(MailError::Temporary(format!(
                "the SMTP server did not finish within {} s",
                self.deadline.as_secs()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail() -> OutgoingMail {
        OutgoingMail {
            id: "0193-abc".into(),
            to: "Ada Lovelace <ada@example.com>".into(),
            subject: "Confirm your address – ünïcode".into(),
            text: "Hello\n\nhttps://auth.example.com/verify-email?token=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG\n".into(),
            html: "<p>Hello</p>".into(),
            link: Some("https://auth.example.com/verify-email?token=t".into()),
            template: "verify_email".into(),
        }
    }

    #[test]
    fn messages_are_multipart_with_a_stable_message_id() {
        let from = parse_mailbox("latchkey <no-reply@auth.example.com>").unwrap();
        let a = build_message(&mail(), &from, "auth.example.com")
            .unwrap()
            .formatted();
        let text = String::from_utf8_lossy(&a);
        assert!(
            text.contains("Message-ID: <0193-abc@auth.example.com>"),
            "{text}"
        );
        assert!(text.contains("multipart/alternative"));
        assert!(text.contains("text/plain") && text.contains("text/html"));
        assert!(
            text.contains("=?utf-8?"),
            "non-ASCII subjects are encoded: {text}"
        );
        assert!(parse_mailbox("not an address").is_err());
        let mut bad = mail();
        bad.to = "nobody".into();
        assert!(matches!(
            build_message(&bad, &from, "x"),
            Err(MailError::Permanent(_))
        ));
    }

    #[tokio::test]
    async fn files_are_written_whole_once_per_id() {
        let dir = tempfile::tempdir().unwrap();
        let t = FileTransport::new(
            &dir.path().join("mail"),
            parse_mailbox("lk <a@b.example>").unwrap(),
            "b.example",
        );
        t.send(&mail()).await.unwrap();
        t.send(&mail()).await.unwrap();
        let names: Vec<String> = std::fs::read_dir(t.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(
            names,
            vec!["0193-abc.eml".to_owned()],
            "a repeat overwrites"
        );
    }

    #[tokio::test]
    async fn a_server_that_stops_answering_is_a_temporary_failure() {
        // accepts, greets, then never says anything again
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            use std::io::Write;
            let (mut conn, _) = listener.accept().unwrap();
            conn.write_all(b"220 silent.example ESMTP\r\n").unwrap();
            std::thread::sleep(std::time::Duration::from_secs(30));
        });
        let t = SmtpTransport::new(
            &SmtpSettings {
                host: "127.0.0.1".into(),
                port,
                security: SmtpSecurity::None,
                username: None,
                password: None,
                timeout: Duration::from_secs(1),
                ca_file: None,
                hello_name: "latchkey.test".into(),
            },
            parse_mailbox("lk <a@b.example>").unwrap(),
        )
        .unwrap();
        assert!(matches!(
            t.send(&mail()).await,
            Err(MailError::Temporary(_))
        ));
    }

    #[tokio::test]
    async fn an_unreachable_server_is_a_temporary_failure() {
        // nothing listens on port 1
        let t = SmtpTransport::new(
            &SmtpSettings {
                host: "127.0.0.1".into(),
                port: 1,
                security: SmtpSecurity::None,
                username: None,
                password: None,
                timeout: Duration::from_secs(5),
                ca_file: None,
                hello_name: "latchkey.test".into(),
            },
            parse_mailbox("lk <a@b.example>").unwrap(),
        )
        .unwrap();
        assert!(matches!(
            t.send(&mail()).await,
            Err(MailError::Temporary(_))
        ));
    }
}
