use crate::helpers::*;
use serde_json::json;
use std::collections::BTreeSet;

#[test]
fn health_answers_without_sign_in() {
    let app = spawn_app();
    let answer = app.browser().get("/healthz");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, serde_json::json!({"status": "ok"}));
    assert_eq!(
        answer.header("content-type"),
        Some("application/json; charset=utf-8")
    );
}

#[test]
fn metrics_count_requests_by_route() {
    let app = spawn_app();
    let browser = app.browser();
    browser.get("/healthz");
    browser.get("/api/v1/setup");
    let answer = browser.get("/metrics");
    assert_eq!(answer.status, 200, "loopback may scrape");
    assert!(
        answer
            .text
            .contains(r#"kehu_http_requests_total{method="GET",route="/healthz",status="200"} 1"#),
        "{}",
        answer.text
    );
    assert!(answer
        .text
        .contains(r#"kehu_http_request_duration_seconds_count{route="/api/v1/setup"} 1"#));
    assert!(answer.text.contains("kehu_db_pool_max_connections 4"));
}

#[test]
fn every_response_carries_the_security_headers() {
    let app = spawn_app();
    let browser = app.browser();
    for path in [
        "/",
        "/js/main.js",
        "/api/v1/setup",
        "/api/v1/no-such-thing",
        "/no-such-file.js",
        "/healthz",
    ] {
        let answer = browser.get(path);
        let csp = answer.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{path}"
        );
        assert_eq!(
            answer.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            answer.header("referrer-policy"),
            Some("same-origin"),
            "{path}"
        );
        assert_eq!(
            answer.header("x-request-id").map(str::len),
            Some(16),
            "{path}"
        );
    }
}

#[test]
fn the_page_has_no_inline_script_for_the_policy_to_block() {
    let app = spawn_app();
    let page = app.browser().get("/").text;
    for (i, _) in page.match_indices("<script") {
        let tag = &page[i..i + page[i..].find('>').unwrap()];
        assert!(tag.contains("src="), "inline script: {tag}");
        let after = &page[i + tag.len() + 1..];
        assert!(after.starts_with("</script>"), "script with a body");
    }
    let inline_handler = page.match_indices(" on").any(|(i, _)| {
        let name: String = page[i + 3..]
            .chars()
            .take_while(char::is_ascii_lowercase)
            .collect();
        !name.is_empty() && page[i + 3 + name.len()..].starts_with('=')
    });
    assert!(!inline_handler, "no inline event handlers");
    assert!(!page.contains("style="), "no inline styles");
}

#[test]
fn assets_are_revalidated_by_content_hash_and_compressed() {
    let app = spawn_app();
    let browser = app.browser();
    let first = browser.get("/js/main.js");
    assert_eq!(first.status, 200);
    assert_eq!(
        first.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(first.header("cache-control"), Some("no-cache"));
    let etag = first.header("etag").unwrap().to_string();

    let url = app.url("/js/main.js");
    let again = read(
        browser
            .client
            .get(&url)
            .header("If-None-Match", &etag)
            .send()
            .unwrap(),
    );
    assert_eq!(again.status, 304);
    assert!(again.text.is_empty());

    let gzipped = browser
        .client
        .get(app.url("/css/app.css"))
        .header("Accept-Encoding", "gzip")
        .send()
        .unwrap();
    assert_eq!(gzipped.headers().get("content-encoding").unwrap(), "gzip");

    assert_eq!(
        browser.get("/").header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(browser.get("/i18n/zh-CN.json").status, 200);
}

/// A person without a language of their own reads the company's, whatever their client sends
/// or does not send (an API client, a script); their own choice comes first.
#[test]
fn a_person_without_a_language_reads_the_companys() {
    let app = spawn_app();
    let admin = app.setup_admin();
    create_user(&admin, "rep", None, false);
    let mut rep = app.signed_in("rep");
    let refused = |rep: &Browser| {
        let answer = rep.post("/api/v1/customers", json!({}));
        assert_eq!(answer.status, 403, "{}", answer.text);
        answer.body["error"]["message"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let chinese = refused(&rep);
    assert!(
        !chinese.is_ascii(),
        "the company's Chinese, not the built-in English: {chinese}"
    );
    rep.language = Some("en");
    assert_eq!(refused(&rep), chinese, "the company's before the browser's");
    let chosen = rep.patch("/api/v1/auth/me", json!({"language": "en"}));
    assert_eq!(chosen.status, 200, "{}", chosen.text);
    rep.language = None;
    assert!(refused(&rep).is_ascii(), "their own choice first");
}

#[test]
fn unknown_routes_and_bad_bodies_get_the_error_shape() {
    let app = spawn_app();
    let mut browser = app.browser();
    let missing = browser.get("/api/v1/nothing-here");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error_code(), "not_found");
    assert!(missing.body["error"]["message"].is_string());
    assert_eq!(browser.get("/secret.txt").error_code(), "not_found");

    browser.language = Some("zh-CN");
    let url = app.url("/api/v1/auth/login");
    let garbage = read(
        browser
            .client
            .post(&url)
            .header("Content-Type", "application/json")
            .header("Accept-Language", "zh-CN")
            .body("{not json")
            .send()
            .unwrap(),
    );
    assert_eq!(garbage.status, 400);
    assert_eq!(garbage.error_code(), "invalid_json");
    assert!(
        garbage.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("请求内容无法解析"),
        "{}",
        garbage.text
    );

    let wrong_method = read(browser.client.delete(app.url("/healthz")).send().unwrap());
    assert!(wrong_method.status == 404 || wrong_method.status == 405);
    assert!(
        wrong_method.body["error"]["code"].is_string(),
        "{}",
        wrong_method.text
    );
}

fn translation_keys(language: &str) -> BTreeSet<String> {
    let path = format!("{}/assets/i18n/{language}.json", env!("CARGO_MANIFEST_DIR"));
    let table: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for (key, value) in &table {
        assert!(
            value.as_str().is_some_and(|v| !v.trim().is_empty()),
            "{language}: {key} is empty"
        );
    }
    table.keys().cloned().collect()
}

fn source_files(dir: &std::path::Path, ext: &str, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(std::fs::read_to_string(path).unwrap());
        }
    }
}

/// Every error code the server can raise, and every key the UI asks for, exists in both
/// languages.
#[test]
fn every_message_exists_in_both_languages() {
    let zh = translation_keys("zh-CN");
    let en = translation_keys("en");
    assert_eq!(
        zh.symmetric_difference(&en).collect::<Vec<_>>(),
        Vec::<&String>::new()
    );

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut rust = Vec::new();
    source_files(&root.join("src"), "rs", &mut rust);
    let mut needed = BTreeSet::new();
    let quoted = |text: &str, after: &str| -> Vec<String> {
        text.match_indices(after)
            .filter_map(|(i, _)| {
                let rest = &text[i + after.len()..];
                let rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
                let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
                let rest = &rest[1..];
                Some(rest[..rest.find(quote)?].to_string())
            })
            .collect()
    };
    for file in &rust {
        for code in quoted(file, "forbidden_code")
            .into_iter()
            .chain(quoted(file, "bad_request"))
            .chain(quoted(file, "AppError::conflict"))
        {
            needed.insert(format!("error.{code}"));
        }
        for call in [
            "StatusCode::UNAUTHORIZED,",
            "StatusCode::TOO_MANY_REQUESTS,",
        ] {
            for code in quoted(file, call) {
                needed.insert(format!("error.{code}"));
            }
        }
        for code in quoted(file, "refuse")
            .into_iter()
            .chain(quoted(file, "Err(("))
            .chain(quoted(file, "ok_or(("))
        {
            needed.insert(format!("field_error.{code}"));
        }
        for marker in [".add(", "AppError::field("] {
            for (i, _) in file.match_indices(marker) {
                let args = &file[i..(i + 200).min(file.len())];
                if let Some(code) = args
                    .split(',')
                    .nth(1)
                    .and_then(|a| a.trim().strip_prefix('"'))
                    .and_then(|a| a.split('"').next())
                {
                    needed.insert(format!("field_error.{code}"));
                }
            }
        }
        for code in quoted(file, "=> \"") {
            if file.contains("fn from_status") {
                needed.insert(format!("error.{code}"));
            }
        }
    }
    for code in [
        "validation_failed",
        "unauthenticated",
        "forbidden",
        "not_found",
        "internal_error",
        "too_many_attempts",
        "invalid_json",
        "invalid_query",
    ] {
        needed.insert(format!("error.{code}"));
    }
    let mut js = Vec::new();
    source_files(&root.join("assets/js"), "js", &mut js);
    for file in &js {
        for key in quoted(file, "t(") {
            if key.contains('.') && !key.contains('$') {
                needed.insert(key);
            }
        }
    }
    let is_code = |key: &&String| {
        let code = key.rsplit('.').next().unwrap_or_default();
        !code.is_empty() && code.chars().all(|c| c.is_ascii_lowercase() || c == '_')
    };
    let missing: Vec<_> = needed
        .iter()
        .filter(is_code)
        .filter(|k| !zh.contains(*k))
        .collect();
    assert!(missing.is_empty(), "missing translations: {missing:?}");
    assert!(
        needed.len() > 40,
        "the scan found the keys ({})",
        needed.len()
    );
}

/// Every route the source registers is in the OpenAPI document, and every entity's record
/// routes are too.
#[test]
fn the_openapi_document_describes_every_route() {
    let app = spawn_app();
    let answer = app.browser().get("/api/v1/openapi.json");
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["openapi"], "3.0.3");
    let paths = answer.body["paths"].as_object().unwrap();
    let mut registered = Vec::new();
    collect_routes(std::path::Path::new("src"), &mut registered);
    assert!(registered.len() > 40, "{registered:?}");
    for (method, path) in &registered {
        let full = if path == "/healthz" || path == "/metrics" {
            path.clone()
        } else {
            format!("/api/v1{path}")
        };
        assert!(
            paths.get(&full).is_some_and(|p| p.get(method).is_some()),
            "{method} {full} is registered but not in openapi.json"
        );
    }
    for entity in ["customers", "contacts", "followups"] {
        for (method, path) in [
            ("get", format!("/api/v1/{entity}")),
            ("post", format!("/api/v1/{entity}/import")),
            ("patch", format!("/api/v1/{entity}/{{id}}")),
            (
                "post",
                format!("/api/v1/recycle-bin/{entity}/{{id}}/restore"),
            ),
        ] {
            assert!(paths[&path].get(method).is_some(), "{method} {path}");
        }
        let schema = &answer.body["components"]["schemas"][entity];
        assert_eq!(schema["properties"]["id"]["type"], "integer");
    }
    assert_eq!(
        answer.body["components"]["schemas"]["customers"]["properties"]["name"]["maxLength"],
        200
    );
}

/// `(method, path)` of every `.route("/…", web::method()` outside the per-entity scopes.
fn collect_routes(dir: &std::path::Path, found: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_routes(&path, found);
            continue;
        }
        if path.ends_with("entity/routes.rs") || path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text: String = std::fs::read_to_string(&path)
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        for piece in text.split(".route(\"").skip(1) {
            let Some((route, rest)) = piece.split_once('"') else {
                continue;
            };
            let Some(method) = rest.trim_start_matches(", ").strip_prefix("web::") else {
                continue;
            };
            let method: String = method
                .chars()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect();
            if route.starts_with('/') {
                found.push((method, route.to_string()));
            }
        }
    }
}
