//! The HTTP tests of the app, one binary: each module is what was one test
//! file (a test binary links the whole tree, so one link instead of one per
//! file). `error_log.rs` stays a binary of its own: it installs the
//! process-wide log subscriber whose lines it counts.

mod abuse;
mod accounts;
mod admin;
mod authz;
mod contract;
mod events;
mod federation;
mod federation_fakes;
mod hash_pool;
mod lifecycle;
mod mfa;
mod nginx;
mod oauth;
mod oauth_client_auth;
mod oauth_flows;
mod pages;
mod passkeys;
mod passwordless;
mod pipeline;
mod route_policy;
mod serve;
mod sign_in;
mod webhooks;
