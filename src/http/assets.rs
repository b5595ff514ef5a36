//! The web UI, embedded in the binary. Every file is revalidated with a content-hash ETag, so a
//! new binary's UI is picked up at once and an unchanged file costs a 304.

use super::error::AppError;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

#[derive(rust_embed::RustEmbed)]
#[folder = "assets/"]
pub struct Assets;

/// Serves `/` as `index.html` and any other GET path that names an embedded file.
pub async fn serve(req: HttpRequest) -> Result<HttpResponse, AppError> {
    let path = match req.path().trim_start_matches('/') {
        "" => "index.html",
        other => other,
    };
    let file = Assets::get(path).ok_or_else(AppError::not_found)?;
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..12]));
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    if unchanged {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish());
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type(file.metadata.mimetype())))
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(file.data.into_owned()))
}

fn content_type(mime: &str) -> String {
    let textual = mime.starts_with("text/")
        || mime.ends_with("javascript")
        || mime.ends_with("json")
        || mime.ends_with("svg+xml");
    if textual {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    }
}
