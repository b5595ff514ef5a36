//! What every request handler shares, built once at start by `app` and handed to all workers.
//! It sits low in the house, beside the other HTTP plumbing, so that every module with routes
//! can take it without reaching up to the composition root.

use crate::auth::throttle::Throttle;
use crate::config::Config;
use crate::db::Db;
use crate::http::metrics::Metrics;
use crate::i18n::{Lang, Translations};

/// Everything a request may need, built once at start and shared by all workers.
pub struct AppState {
    pub db: Db,
    pub config: Config,
    pub i18n: Translations,
    pub throttle: Throttle,
    pub metrics: Metrics,
    pub default_lang: Lang,
}
