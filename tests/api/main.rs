//! Integration tests: each starts the real server on a random port over a fresh SQLite file,
//! or runs the real `kehu` binary.

mod helpers;
#[path = "../support/smtp.rs"]
mod smtp;

mod access;
mod approvals;
mod auth;
mod automation;
mod collaboration;
mod custom_fields;
mod demo;
mod http_basics;
mod import;
mod mail;
mod moving_in;
mod office;
mod operations;
mod organisation;
mod pool;
mod records;
mod sales;
mod setup;
mod webhooks;
