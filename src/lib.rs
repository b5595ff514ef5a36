//! Kehu CRM: an on-premise CRM in one executable. The binary (`main.rs`) is a thin CLI over
//! this library, which the integration tests link too.

pub mod access;
pub mod app;
pub mod audit;
pub mod auth;
pub mod config;
pub mod crm;
pub mod db;
pub mod demo;
pub mod entity;
pub mod http;
pub mod i18n;
pub mod org;
pub mod time;
