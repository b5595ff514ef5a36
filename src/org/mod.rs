//! The organisation: departments, user administration, the operation log.

pub mod audit_log;
pub mod departments;
pub mod system;
pub mod users;

use crate::audit::Actor;
use crate::auth::session::CurrentUser;
use crate::http::client_ip;
use actix_web::HttpRequest;

/// The audit actor for an administrator's request.
pub fn actor(req: &HttpRequest, user: &CurrentUser) -> Actor {
    Actor {
        user_id: Some(user.id),
        username: Some(user.username.clone()),
        ip: client_ip(req).map(|ip| ip.to_string()),
    }
}
