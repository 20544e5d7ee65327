//! The latchkey binary's library half: configuration, wiring and start-up.
//!
//! `main.rs` only parses the command line and calls into here, so the
//! wiring can be read (and tested) without the CLI. Dependencies point one
//! way: this crate knows every other crate; none knows it.

pub mod admin_cli;
pub mod backup_cli;
pub mod client_cli;
pub mod config;
pub mod health_cli;
pub mod master_key;
pub mod seed_cli;
pub mod start;
pub mod telemetry;
pub mod tools;
pub mod user_transfer_cli;
