//! HTTP plumbing shared by every module: errors, the request envelope, assets, metrics.

pub mod assets;
pub mod envelope;
pub mod error;
pub mod input;
pub mod metrics;
pub mod openapi;
pub mod state;

use crate::i18n::Lang;
use actix_web::{HttpMessage, HttpRequest};

/// The signed-in user's language, put in the request by the session extractor.
#[derive(Clone, Copy)]
pub struct UserLang(pub Lang);

/// The id that ties a response to its log lines.
#[derive(Clone)]
pub struct RequestId(pub String);

/// The caller's language: their own setting, else their company's (both set by sign-in, see
/// `auth::session`), else the browser's, else the system default.
pub fn request_lang(req: &HttpRequest, default: Lang) -> Lang {
    if let Some(UserLang(lang)) = req.extensions().get::<UserLang>() {
        return *lang;
    }
    req.headers()
        .get("Accept-Language")
        .and_then(|v| v.to_str().ok())
        .and_then(Lang::from_accept_language)
        .unwrap_or(default)
}

/// The client's address as seen on the socket (Kehu does not trust forwarded headers).
pub fn client_ip(req: &HttpRequest) -> Option<std::net::IpAddr> {
    req.peer_addr().map(|a| a.ip())
}
