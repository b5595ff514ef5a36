//! Wraps every request: request id, tracing span, access log, metrics, security headers, and the
//! translation of every error into `{"error": …}` in the caller's language.

use super::error::{from_status, AppError};
use super::{request_lang, RequestId};
use crate::http::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse};
use std::time::Instant;
use tracing::Instrument;

/// The UI loads only its own scripts, styles and data: no inline script, no third party.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const SECURITY_HEADERS: [(&str, &str); 5] = [
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=()",
    ),
];

pub async fn envelope(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = hex::encode(rand::random::<[u8; 8]>());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let method = req.method().to_string();
    let path = req.path().to_string();
    let span = tracing::info_span!("request", id = %request_id);

    // Handler errors arrive as responses carrying their error; only a failure inside actix
    // itself comes back as `Err`, and actix answers that one.
    let mut res = next
        .call(req)
        .instrument(span.clone())
        .await?
        .map_into_boxed_body();
    if res.response().error().is_some() {
        res = localise_error(res, &request_id, &span);
    }
    let headers = res.headers_mut();
    // API.md promises the charset; actix's `.json()` leaves it out.
    if headers
        .get("content-type")
        .is_some_and(|v| v == "application/json")
    {
        headers.insert(
            HeaderName::from_static("content-type"),
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    for (name, value) in SECURITY_HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert(HeaderName::from_static("x-request-id"), value);
    }

    let status = res.status().as_u16();
    let seconds = started.elapsed().as_secs_f64();
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    if let Some(state) = res.request().app_data::<web::Data<AppState>>() {
        state.metrics.observe(&method, &route, status, seconds);
    }
    tracing::info!(
        target: "kehu::access",
        parent: &span,
        %method,
        %path,
        status,
        ms = format_args!("{:.2}", seconds * 1000.0),
        "request"
    );
    Ok(res)
}

/// Replaces an error response's body with the translated JSON shape, logging internal causes.
fn localise_error(
    res: ServiceResponse<BoxBody>,
    request_id: &str,
    span: &tracing::Span,
) -> ServiceResponse<BoxBody> {
    let Some(state) = res.request().app_data::<web::Data<AppState>>().cloned() else {
        return res;
    };
    let status = res.status();
    let fallback;
    let error: &AppError = match res
        .response()
        .error()
        .and_then(|e| e.as_error::<AppError>())
    {
        Some(error) => error,
        None => {
            let detail = res
                .response()
                .error()
                .map(|e| e.to_string())
                .unwrap_or_default();
            fallback = from_status(status).with_params(serde_json::json!({ "detail": detail }));
            &fallback
        }
    };
    if let Some(cause) = &error.internal {
        tracing::error!(parent: span, cause = %cause, "internal error");
    } else if status.is_server_error() {
        tracing::error!(parent: span, status = status.as_u16(), "server error");
    }
    let lang = request_lang(res.request(), state.default_lang);
    let body = error.body(|key, params| state.i18n.text(lang, key, params), request_id);
    let mut response = HttpResponse::build(status);
    if let Some(seconds) = error.retry_after_seconds {
        response.insert_header(("Retry-After", seconds.to_string()));
    }
    let response = response.json(body);
    res.into_response(response)
}
