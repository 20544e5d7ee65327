//! Where a request came from: recorded on sessions and in audit events. A
//! leaf module, so that the audit log can name it without importing the
//! services that record events.

/// Where a request came from, recorded on sessions.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// Client IP.
    pub ip: Option<String>,
    /// User-Agent header.
    pub user_agent: Option<String>,
    /// The request id, recorded in the audit log.
    pub request_id: Option<String>,
}
