//! The one error type. Handlers return `AppError`; the `envelope` middleware renders it as
//! `{"error": {"code", "message", "fields"?}}` in the caller's language. Internal causes are
//! logged with the request id and never sent to the client.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::{json, Map, Value};
use std::fmt;

/// One field's problem: a stable code plus the values its message needs.
#[derive(Debug, Clone)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub params: Value,
}

/// Collects every bad field of a request, so the user sees them all at once.
#[derive(Debug, Default, Clone)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, code: &'static str, params: Value) {
        self.0.push(FieldError {
            field: field.to_string(),
            code,
            params,
        });
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|e| e.field == field)
    }

    pub fn iter(&self) -> impl Iterator<Item = &FieldError> {
        self.0.iter()
    }

    /// `Ok(())` when no field is bad, else a 422 `validation_failed`.
    pub fn into_result(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::validation(self))
        }
    }
}

/// Boxed so `Result<T, AppError>` stays one pointer wide on the happy path.
#[derive(Debug)]
pub struct AppError(Box<ErrorDetails>);

#[derive(Debug)]
pub struct ErrorDetails {
    pub status: StatusCode,
    pub code: &'static str,
    pub params: Value,
    pub fields: FieldErrors,
    /// The current state of the record for conflicts, so the client can show and merge it.
    pub current: Option<Value>,
    pub retry_after_seconds: Option<u64>,
    /// What went wrong inside; logged, never sent.
    pub internal: Option<String>,
    /// A more specific message than the code's own (same code, other wording).
    pub message_key: Option<&'static str>,
}

impl std::ops::Deref for AppError {
    type Target = ErrorDetails;

    fn deref(&self) -> &ErrorDetails {
        &self.0
    }
}

impl std::ops::DerefMut for AppError {
    fn deref_mut(&mut self) -> &mut ErrorDetails {
        &mut self.0
    }
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str) -> Self {
        AppError(Box::new(ErrorDetails {
            status,
            code,
            params: json!({}),
            fields: FieldErrors::new(),
            current: None,
            retry_after_seconds: None,
            internal: None,
            message_key: None,
        }))
    }

    /// The same error about a part of a larger request: every field is named `{part}.{field}`
    /// (a lead conversion's `opportunity.amount`).
    pub fn within(mut self, part: &str) -> Self {
        for error in &mut self.0.fields.0 {
            error.field = format!("{part}.{}", error.field);
        }
        self
    }

    pub fn with_params(mut self, params: Value) -> Self {
        self.params = params;
        self
    }

    /// 400 `invalid_query` naming the parameter, filter or value that is wrong.
    pub fn invalid_query(detail: impl Into<String>) -> Self {
        Self::bad_request("invalid_query").with_params(json!({ "detail": detail.into() }))
    }

    pub fn bad_request(code: &'static str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code)
    }

    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated")
    }

    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden")
    }

    /// A 403 with a more precise code than `forbidden` (`csrf_failed`, `account_frozen`).
    pub fn forbidden_code(code: &'static str) -> Self {
        Self::new(StatusCode::FORBIDDEN, code)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found")
    }

    pub fn conflict(code: &'static str) -> Self {
        Self::new(StatusCode::CONFLICT, code)
    }

    pub fn validation(fields: FieldErrors) -> Self {
        let mut error = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        error.fields = fields;
        error
    }

    /// A 422 for a single field.
    pub fn field(field: &str, code: &'static str, params: Value) -> Self {
        let mut fields = FieldErrors::new();
        fields.add(field, code, params);
        Self::validation(fields)
    }

    pub fn too_many_attempts(retry_after_seconds: u64) -> Self {
        let mut error = Self::new(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
            .with_params(json!({ "seconds": retry_after_seconds }));
        error.retry_after_seconds = Some(retry_after_seconds);
        error
    }

    pub fn internal(cause: impl fmt::Display) -> Self {
        let mut error = Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
        error.internal = Some(cause.to_string());
        error
    }

    /// The JSON body, with messages produced by `translate(key, params)`.
    pub fn body(&self, translate: impl Fn(&str, &Value) -> String, request_id: &str) -> Value {
        let mut error = Map::new();
        error.insert("code".into(), json!(self.code));
        error.insert(
            "message".into(),
            json!(translate(
                &self
                    .message_key
                    .map_or_else(|| format!("error.{}", self.code), |k| k.to_string()),
                &self.params
            )),
        );
        if self.fields.iter().next().is_some() {
            let fields: Map<String, Value> = self
                .fields
                .iter()
                .map(|f| {
                    let message = translate(&format!("field_error.{}", f.code), &f.params);
                    (f.field.clone(), json!(message))
                })
                .collect();
            let codes: Map<String, Value> = self
                .fields
                .iter()
                .map(|f| (f.field.clone(), json!(f.code)))
                .collect();
            error.insert("fields".into(), Value::Object(fields));
            error.insert("field_codes".into(), Value::Object(codes));
        }
        if let Some(current) = &self.current {
            error.insert("current".into(), current.clone());
        }
        if self.status.is_server_error() {
            error.insert("request_id".into(), json!(request_id));
        }
        json!({ "error": error })
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.internal {
            Some(cause) => write!(f, "{}: {cause}", self.code),
            None => f.write_str(self.code),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    /// Untranslated; the `envelope` middleware replaces the body with the caller's language.
    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if let Some(seconds) = self.retry_after_seconds {
            response.insert_header(("Retry-After", seconds.to_string()));
        }
        response.json(self.body(|key, _| key.to_string(), ""))
    }
}

impl From<rusqlite::Error> for AppError {
    fn from(e: rusqlite::Error) -> Self {
        AppError::internal(e)
    }
}

/// Errors raised by actix itself (unparseable JSON, unknown route…) get our shape too.
pub fn from_status(status: StatusCode) -> AppError {
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_client_error() => "bad_request",
        _ => "internal_error",
    };
    AppError::new(status, code)
}
