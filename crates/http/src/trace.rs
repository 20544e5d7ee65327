//! W3C Trace Context (`traceparent`) in and out, and the trace id every
//! request carries: in its span (so in every log line of the request) and in
//! its problem bodies (`trace_id`).
//!
//! Design decisions:
//! - **The parent is taken from a trusted proxy only.** Like `X-Request-Id`,
//!   what a peer sends is recorded as fact only when the peer is a configured
//!   proxy (`proxies.trusted`): the gateway or ingress that starts traces.
//!   From anyone else the request starts a trace of its own.
//! - **One trace id, traces on or off.** With `telemetry.otlp_endpoint` set,
//!   the id is the OpenTelemetry span's (the parent's when there is one);
//!   without, it is the trusted parent's or a fresh random one, so logs and
//!   problem bodies look the same either way.
//! - **Out:** [`outgoing_traceparent`] gives the header for a call this node
//!   makes on behalf of the request (a webhook, an upstream provider), so
//!   the callee's spans join the same trace.

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The request header naming the caller's span.
pub const TRACEPARENT: &str = "traceparent";

/// A parsed `traceparent` (version 00).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    trace_id: TraceId,
    span_id: SpanId,
    flags: TraceFlags,
}

impl TraceParent {
    /// Parses `00-<32 hex>-<16 hex>-<2 hex>`, lower case, neither id all
    /// zeros; anything else is `None` (and the request starts a new trace).
    pub fn parse(value: &str) -> Option<TraceParent> {
        let mut parts = value.trim().split('-');
        let (version, trace, span, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let lower_hex = |s: &str, len: usize| {
            s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        };
        if parts.next().is_some()
            || version != "00"
            || !lower_hex(trace, 32)
            || !lower_hex(span, 16)
            || !lower_hex(flags, 2)
        {
            return None;
        }
        let trace_id = TraceId::from_hex(trace).ok()?;
        let span_id = SpanId::from_hex(span).ok()?;
        let flags = TraceFlags::new(u8::from_str_radix(flags, 16).ok()?);
        (trace_id != TraceId::INVALID && span_id != SpanId::INVALID).then_some(TraceParent {
            trace_id,
            span_id,
            flags,
        })
    }

    /// The remote parent as an OpenTelemetry context.
    fn context(&self) -> opentelemetry::Context {
        let parent = SpanContext::new(
            self.trace_id,
            self.span_id,
            self.flags,
            true,
            TraceState::default(),
        );
        opentelemetry::Context::new().with_remote_span_context(parent)
    }
}

/// Makes `span` (a request's, not yet entered) the child of `parent`, and
/// returns the request's trace id: the OpenTelemetry span's when traces are
/// on, else the parent's, else a fresh random one.
pub fn adopt(span: &tracing::Span, parent: Option<TraceParent>) -> String {
    if let Some(p) = parent {
        // Err when traces are off (no OpenTelemetry layer): nothing to adopt.
        let _ = span.set_parent(p.context());
    }
    let own = span.context().span().span_context().trace_id();
    if own != TraceId::INVALID {
        return own.to_string();
    }
    match parent {
        Some(p) => p.trace_id.to_string(),
        None => {
            let mut bytes = [0u8; 16];
            // without randomness the id is all zeros: logs still join up
            let _ = getrandom::fill(&mut bytes);
            TraceId::from_bytes(bytes).to_string()
        }
    }
}

/// The `traceparent` header for a call made inside the current span, or
/// `None` when traces are off.
pub fn outgoing_traceparent() -> Option<String> {
    let cx = tracing::Span::current().context();
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| {
        format!(
            "00-{}-{}-{:02x}",
            sc.trace_id(),
            sc.span_id(),
            sc.trace_flags().to_u8()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_is_parsed_strictly() {
        let good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let p = TraceParent::parse(good).unwrap();
        assert_eq!(p.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(p.span_id.to_string(), "00f067aa0ba902b7");
        assert_eq!(p.flags, TraceFlags::SAMPLED);
        for bad in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn without_traces_the_id_is_the_parents_or_a_fresh_one() {
        let span = tracing::info_span!("request");
        let parent = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        assert_eq!(adopt(&span, parent), "4bf92f3577b34da6a3ce929d0e0e4736");
        let (a, b) = (adopt(&span, None), adopt(&span, None));
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert_eq!(outgoing_traceparent(), None);
    }
}
