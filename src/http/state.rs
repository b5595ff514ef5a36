//! What every request handler shares, built once at start by `app` and handed to all workers.
//! It sits low in the house, beside the other HTTP plumbing, so that every module with routes
//! can take it without reaching up to the composition root.

use crate::auth::throttle::Throttle;
use crate::config::Config;
use crate::db::Db;
use crate::http::metrics::Metrics;
use crate::i18n::{Lang, Translations};
use tokio::sync::watch;

/// Everything a request may need, built once at start and shared by all workers.
pub struct AppState {
    pub db: Db,
    pub config: Config,
    pub i18n: Translations,
    pub throttle: Throttle,
    pub metrics: Metrics,
    pub default_lang: Lang,
    pub closing: Closing,
}

/// Tells the responses that never end by themselves (live notification streams) that the
/// server is stopping, so a graceful stop need not wait out its timeout for them.
pub struct Closing(watch::Sender<bool>);

impl Default for Closing {
    fn default() -> Closing {
        Closing(watch::channel(false).0)
    }
}

impl Closing {
    pub fn close(&self) {
        self.0.send_replace(true);
    }

    /// A receiver whose value turns `true` when the server starts to stop.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.0.subscribe()
    }
}
