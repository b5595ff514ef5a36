//! Who the caller is: passwords, sessions, sign-in throttling, first-run setup, own profile.

pub mod passwords;
pub mod routes;
pub mod session;
pub mod setup;
pub mod throttle;
pub mod tokens;
pub mod users;
