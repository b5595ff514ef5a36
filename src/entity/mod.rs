//! The metadata engine: entity descriptors drive one generic implementation of list, filter,
//! sort, search, get, create, update, delete, recycle bin, history, export and the UI's metadata.

pub mod approvals;
pub mod attachments;
pub mod automation;
pub mod bigrams;
pub mod bulk;
pub mod comments;
pub mod conditions;
pub mod custom;
pub mod descriptor;
#[cfg(test)]
mod engine_tests;
pub mod export;
pub mod history;
pub mod import;
pub mod lines;
pub mod mailing;
pub mod meta;
pub mod notifications;
pub mod picklists;
pub mod query;
pub mod registry;
pub mod routes;
pub mod search;
pub mod sheet;
pub mod store;
pub mod summary;
pub mod values;
pub mod views;
pub mod webhooks;
