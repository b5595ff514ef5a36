//! Builds the server: shared state, routes, middleware, and its lifecycle.

use crate::auth::{self, session::Admin, throttle::Throttle};
use crate::config::Config;
use crate::db::{lock::DataDirLock, Db};
use crate::http::{
    assets,
    envelope::envelope,
    error::AppError,
    metrics::{Metrics, PoolFigures},
    state::AppState,
};
use crate::i18n::{Lang, Translations};
use crate::{access, crm, entity, org};
use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{from_fn, Compress};
use actix_web::{web, App, FromRequest, HttpRequest, HttpResponse, HttpServer};
use serde_json::json;
use std::net::TcpListener;
use std::time::Duration;

/// Stands the house up: the engine learns the business's entities and hooks (`crm::registry`).
/// Every entry point (the server, each command of the `kehu` binary) calls it before touching
/// the database.
pub fn install() {
    entity::registry::install(crm::registry());
}

/// A bound, ready server. Holding it holds the data directory's lock.
pub struct Application {
    server: Server,
    port: u16,
    state: web::Data<AppState>,
    _lock: DataDirLock,
}

impl Application {
    pub fn build(config: Config) -> Result<Application, String> {
        install();
        let lock = DataDirLock::acquire(config.data_dir()).map_err(|e| e.to_string())?;
        let db = Db::open(
            &config.database_path(),
            &config.backup_dir(),
            config.storage.read_pool_size as u32,
        )
        .map_err(|e| e.to_string())?;
        let i18n = Translations::load()?;
        let addr = config.listen_addr().map_err(|e| e.to_string())?;
        let listener =
            TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let workers = match config.server.workers {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n as usize,
        };
        let state = web::Data::new(AppState {
            db,
            default_lang: Lang::parse(&config.app.default_language).unwrap_or(Lang::ZhCn),
            throttle: Throttle::new(&config.auth),
            metrics: Metrics::default(),
            i18n,
            config,
            closing: Default::default(),
        });
        let shared = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .app_data(json_config())
                .app_data(query_config())
                .wrap(Compress::default())
                .wrap(from_fn(envelope))
                .configure(routes)
        })
        .workers(workers)
        .shutdown_timeout(10)
        // Signals are handled by `run_until_stopped`, which ends the live streams first.
        .disable_signals()
        .listen(listener)
        .map_err(|e| e.to_string())?
        .run();
        Ok(Application {
            server,
            port,
            state,
            _lock: lock,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn handle(&self) -> StopHandle {
        StopHandle {
            server: self.server.handle(),
            state: self.state.clone(),
        }
    }

    /// Serves until stopped (SIGINT/SIGTERM or a handle), running housekeeping alongside.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let signals = actix_web::rt::spawn(stop_on_signal(self.handle()));
        let recovering = self.state.clone();
        let started = crate::time::now_ms();
        std::thread::spawn(move || {
            if let Err(error) = entity::import::recover(&recovering.db, started) {
                tracing::error!(%error, "could not undo an import a stop interrupted");
            }
        });
        let housekeeping = actix_web::rt::spawn(expire_sessions_hourly(self.state.clone()));
        let pool_rules = actix_web::rt::spawn(crm::pool::apply_rules_hourly(self.state.clone()));
        let mail = actix_web::rt::spawn(entity::mailing::deliver_mail(self.state.clone()));
        let webhooks = actix_web::rt::spawn(entity::webhooks::deliver_webhooks(self.state.clone()));
        let digests = actix_web::rt::spawn(crm::inbox::queue_digests_hourly(self.state.clone()));
        let time_rules =
            actix_web::rt::spawn(entity::automation::run_timed_rules(self.state.clone()));
        let result = self.server.await;
        signals.abort();
        housekeeping.abort();
        pool_rules.abort();
        mail.abort();
        webhooks.abort();
        digests.abort();
        time_rules.abort();
        if let Err(error) = self.state.db.checkpoint() {
            tracing::warn!(%error, "could not fold the write-ahead log into the database at shutdown");
        }
        result
    }
}

/// Stops a running server: the live streams end first, then requests in flight finish.
#[derive(Clone)]
pub struct StopHandle {
    server: ServerHandle,
    state: web::Data<AppState>,
}

impl StopHandle {
    pub async fn stop(&self, graceful: bool) {
        self.state.closing.close();
        self.server.stop(graceful).await;
    }
}

/// A graceful stop on SIGINT (Ctrl-C) or SIGTERM (systemd, docker stop).
async fn stop_on_signal(handle: StopHandle) {
    use actix_web::rt::signal;
    let interrupt = Box::pin(signal::ctrl_c());
    match signal::unix::signal(signal::unix::SignalKind::terminate()) {
        Ok(mut terminate) => {
            let terminated = Box::pin(terminate.recv());
            futures_util::future::select(interrupt, terminated).await;
        }
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGTERM; stopping on Ctrl-C only");
            let _ = interrupt.await;
        }
    }
    tracing::info!("stopping: finishing the requests in flight");
    handle.stop(true).await;
}

async fn expire_sessions_hourly(state: web::Data<AppState>) {
    let mut interval = actix_web::rt::time::interval(Duration::from_secs(3600));
    loop {
        interval.tick().await;
        let idle_ms = state.config.auth.session_idle_minutes * 60_000;
        let absolute_ms = state.config.auth.session_absolute_hours * 3_600_000;
        let removed = state
            .db
            .write(move |tx| Ok(auth::session::delete_expired(tx, idle_ms, absolute_ms)?))
            .await;
        match removed {
            Ok(count) if count > 0 => tracing::info!(count, "expired sessions removed"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not remove expired sessions"),
        }
    }
}

fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(1 << 20)
        .error_handler(|err, _| {
            AppError::bad_request("invalid_json")
                .with_params(json!({ "detail": err.to_string() }))
                .into()
        })
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        AppError::bad_request("invalid_query")
            .with_params(json!({ "detail": err.to_string() }))
            .into()
    })
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/metrics", web::get().to(metrics))
        .service(
            web::scope("/api/v1")
                .route(
                    "/openapi.json",
                    web::get().to(crate::http::openapi::openapi),
                )
                .configure(auth::routes::configure)
                .configure(auth::tokens::configure)
                .configure(org::departments::configure)
                .configure(org::users::configure)
                .configure(org::audit_log::configure)
                .configure(org::system::configure)
                .configure(org::mail::configure)
                .configure(org::company::configure)
                .configure(access::roles::configure)
                .configure(entity::meta::configure)
                .configure(entity::search::configure)
                .configure(entity::views::configure)
                .configure(entity::picklists::configure)
                .configure(entity::custom::configure)
                .configure(entity::import::configure)
                .configure(entity::attachments::configure)
                .configure(entity::notifications::configure)
                .configure(entity::comments::configure)
                .configure(entity::approvals::configure)
                .configure(entity::webhooks::configure)
                .configure(entity::automation::configure)
                .configure(crm::configure)
                // Last: `/{entity}` routes must not shadow the specific ones above.
                .configure(entity::routes::configure)
                .default_service(web::to(api_not_found)),
        )
        .default_service(web::get().to(assets::serve));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

async fn api_not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::not_found())
}

/// Prometheus text for loopback scrapers and administrators.
async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let loopback = req.peer_addr().is_some_and(|a| a.ip().is_loopback());
    if !loopback {
        Admin::extract(&req).await?;
    }
    let (open, idle) = state.db.pool_state();
    let body = state.metrics.render(PoolFigures {
        open,
        idle,
        max: state.config.storage.read_pool_size as u32,
    });
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}
