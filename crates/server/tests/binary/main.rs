//! The tests of the real `latchkey` binary, one test binary: each module is
//! what was one test file (a test binary links the whole tree, so one link
//! instead of one per file).

#[path = "../common/mod.rs"]
mod common;

mod admin_cli;
mod architecture;
mod backup;
mod cli;
mod health;
mod keys_clients;
mod mail;
mod postgres;
mod seed_export;
mod smtp;
mod telemetry;
mod user_import;
mod webhooks;
