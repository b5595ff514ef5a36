//! `/api/v1/setup` and `/api/v1/auth/*`: first run, sign-in and out, own profile and password.

use super::session::{self, CurrentUser, SESSION_COOKIE};
use super::setup::{self, SetupInput};
use super::{passwords, users};
use crate::audit::{self, Actor};
use crate::entity::registry;
use crate::http::client_ip;
use crate::http::error::{AppError, FieldErrors};
use crate::http::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use rusqlite::Connection;
use serde_json::{json, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/setup", web::get().to(setup_status))
        .route("/setup", web::post().to(run_setup))
        .route("/auth/login", web::post().to(login))
        .route("/auth/logout", web::post().to(logout))
        .route("/auth/session", web::get().to(current_session))
        .route("/auth/me", web::get().to(me))
        .route("/auth/me", web::patch().to(update_me))
        .route("/auth/password", web::post().to(change_password));
}

fn text(body: &Value, key: &str) -> String {
    body.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn user_agent(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get("User-Agent")
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(300).collect())
}

fn ip_text(req: &HttpRequest) -> Option<String> {
    client_ip(req).map(|ip| ip.to_string())
}

fn actor(user_id: i64, username: &str, ip: Option<String>) -> Actor {
    Actor {
        user_id: Some(user_id),
        username: Some(username.to_string()),
        ip,
    }
}

/// Hashes on a blocking thread: argon2 is deliberately slow.
async fn hash_password(password: String) -> Result<String, AppError> {
    web::block(move || passwords::hash(&password))
        .await
        .map_err(AppError::internal)?
}

async fn verify_password(password: String, stored: Option<String>) -> Result<bool, AppError> {
    web::block(move || passwords::verify(&password, stored.as_deref()))
        .await
        .map_err(AppError::internal)
}

/// The answer to a successful sign-in or setup: the session cookie, the user, the CSRF token.
fn signed_in(
    state: &AppState,
    status: StatusCode,
    token: &str,
    csrf: String,
    user: Value,
) -> HttpResponse {
    HttpResponse::build(status)
        .cookie(session::cookie(token, state))
        .json(json!({ "user": user, "csrf_token": csrf }))
}

async fn setup_status(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let fallback = state.default_lang.code();
    let (needed, company) = state
        .db
        .read(|conn| Ok((setup::is_needed(conn)?, users::company_settings(conn)?)))
        .await?;
    // Screens shown before sign-in use the company's language when the browser's is unknown.
    let language = company["default_language"]
        .as_str()
        .unwrap_or(fallback)
        .to_string();
    Ok(HttpResponse::Ok().json(json!({ "needed": needed, "default_language": language })))
}

async fn run_setup(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    // A set-up server answers 409 whatever the body holds, so the state comes before the
    // body's checks; it also spares a password hash. `perform` checks again inside the
    // transaction, which is what makes setup once-only.
    if !state.db.read(|conn| Ok(setup::is_needed(conn)?)).await? {
        return Err(AppError::conflict("already_set_up"));
    }
    let body: Value = serde_json::from_slice(&body).map_err(|err| {
        AppError::bad_request("invalid_json").with_params(json!({ "detail": err.to_string() }))
    })?;
    let input = SetupInput::parse(&body, state.default_lang)?;
    let hash = hash_password(input.password.clone()).await?;
    let ip = ip_text(&req);
    let agent = user_agent(&req);
    let (token, csrf, user) = state
        .db
        .write(move |tx| {
            let id = setup::perform(tx, &input, &hash)?;
            let who = actor(id, &input.username, ip.clone());
            audit::record(tx, &who, "setup", None, json!({ "company": input.company }))?;
            let (token, csrf) = session::create(tx, id, ip, agent)?;
            Ok((token, csrf, profile(tx, id)?))
        })
        .await?;
    Ok(signed_in(&state, StatusCode::CREATED, &token, csrf, user))
}

async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let username = text(&body, "username").trim().to_string();
    let password = text(&body, "password");
    let mut errors = FieldErrors::new();
    if username.is_empty() {
        errors.add("username", "required", json!({}));
    }
    if password.is_empty() {
        errors.add("password", "required", json!({}));
    }
    errors.into_result()?;

    let ip = client_ip(&req);
    if let Some(wait) = state.throttle.retry_after(&username, ip) {
        return Err(AppError::too_many_attempts(wait));
    }
    let lookup = username.clone();
    let account = state
        .db
        .read(move |conn| Ok(users::find_credentials(conn, &lookup)?))
        .await?;
    let stored = account.as_ref().map(|a| a.password_hash.clone());
    let verified = verify_password(password, stored).await?;
    let ip_string = ip.map(|ip| ip.to_string());
    let account = match account {
        Some(account) if verified => account,
        unverified => {
            state.throttle.record_failure(&username, ip);
            let who = Actor {
                user_id: unverified.map(|a| a.id),
                username: Some(username.clone()),
                ip: ip_string,
            };
            state
                .db
                .write(move |tx| Ok(audit::record(tx, &who, "login_failed", None, json!({}))?))
                .await?;
            return Err(AppError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
            ));
        }
    };
    let who = actor(account.id, &account.username, ip_string.clone());
    if account.frozen {
        state
            .db
            .write(move |tx| {
                Ok(audit::record(
                    tx,
                    &who,
                    "login_refused_frozen",
                    None,
                    json!({}),
                )?)
            })
            .await?;
        return Err(AppError::forbidden_code("account_frozen"));
    }
    state.throttle.record_success(&username);
    // A new session id at every sign-in (never reuse one the browser brought: fixation).
    let previous = req
        .cookie(SESSION_COOKIE)
        .map(|c| session::token_hash(c.value()));
    let agent = user_agent(&req);
    let (token, csrf, user) = state
        .db
        .write(move |tx| {
            if let Some(previous) = previous {
                session::delete(tx, &previous)?;
            }
            let (token, csrf) = session::create(tx, account.id, ip_string, agent)?;
            audit::record(tx, &who, "login", None, json!({}))?;
            Ok((token, csrf, profile(tx, account.id)?))
        })
        .await?;
    Ok(signed_in(&state, StatusCode::OK, &token, csrf, user))
}

async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let who = actor(user.id, &user.username, ip_text(&req));
    let hash = user.session_hash().map(<[u8]>::to_vec);
    state
        .db
        .write(move |tx| {
            if let Some(hash) = hash {
                session::delete(tx, &hash)?;
            }
            Ok(audit::record(tx, &who, "logout", None, json!({}))?)
        })
        .await?;
    Ok(HttpResponse::NoContent()
        .cookie(session::removal_cookie(&state))
        .finish())
}

/// Who is signed in, answered without an error when nobody is: the UI asks this at start, and
/// a signed-out visitor is a normal state, not a failure.
async fn current_session(
    state: web::Data<AppState>,
    user: Option<CurrentUser>,
) -> Result<HttpResponse, AppError> {
    let Some(user) = user else {
        return Ok(HttpResponse::Ok().json(json!({ "user": null })));
    };
    let id = user.id;
    let profile = state.db.read(move |conn| profile(conn, id)).await?;
    Ok(HttpResponse::Ok().json(json!({ "user": profile, "csrf_token": user.csrf_token })))
}

async fn me(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let id = user.id;
    let mut profile = state.db.read(move |conn| profile(conn, id)).await?;
    profile["csrf_token"] = json!(user.csrf_token);
    Ok(HttpResponse::Ok().json(profile))
}

async fn update_me(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let Value::Object(changes) = body.into_inner() else {
        return Err(AppError::bad_request("invalid_body"));
    };
    let id = user.id;
    let mut profile = state
        .db
        .write(move |tx| {
            users::update_preferences(tx, id, &changes)?;
            profile(tx, id)
        })
        .await?;
    profile["csrf_token"] = json!(user.csrf_token);
    Ok(HttpResponse::Ok().json(profile))
}

async fn change_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let current = text(&body, "current_password");
    let new = text(&body, "new_password");
    let mut errors = FieldErrors::new();
    passwords::check_rules(&new, &user.username, "new_password", &mut errors);
    errors.into_result()?;
    let ip = client_ip(&req);
    if let Some(wait) = state.throttle.retry_after(&user.username, ip) {
        return Err(AppError::too_many_attempts(wait));
    }
    let name = user.username.clone();
    let stored = state
        .db
        .read(move |conn| Ok(users::find_credentials(conn, &name)?.map(|a| a.password_hash)))
        .await?;
    if !verify_password(current, stored).await? {
        state.throttle.record_failure(&user.username, ip);
        return Err(AppError::field(
            "current_password",
            "wrong_password",
            json!({}),
        ));
    }
    let hash = hash_password(new).await?;
    let who = actor(user.id, &user.username, ip.map(|ip| ip.to_string()));
    let keep = user.session_hash().map(<[u8]>::to_vec);
    state
        .db
        .write(move |tx| {
            users::set_password(tx, user.id, &hash)?;
            // Every other browser signed in as this user is signed out.
            session::delete_for_user(tx, user.id, keep.as_deref())?;
            Ok(audit::record(
                tx,
                &who,
                "password_changed",
                Some(("users", user.id)),
                json!({}),
            )?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's own view (`users::profile`) with their rights on every module.
fn profile(conn: &Connection, user_id: i64) -> Result<Value, AppError> {
    users::profile(conn, user_id, &registry::module_names())
}
