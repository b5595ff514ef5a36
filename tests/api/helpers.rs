//! `spawn_app()`: a real Kehu server on a random port over a fresh data directory, and a
//! `Browser` that keeps its own cookies and sends the CSRF header like the UI does.

use kehu::app::Application;
use kehu::config::Config;
use reqwest::blocking::{Client, Response};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use tempfile::TempDir;

pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "correct-horse-9";

pub struct TestApp {
    pub address: String,
    pub dir: TempDir,
    pub config: Config,
    handle: Option<kehu::app::StopHandle>,
    thread: Option<JoinHandle<()>>,
}

pub fn test_config(data_dir: &Path) -> Config {
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".into();
    config.server.workers = 2;
    config.storage.data_dir = data_dir.display().to_string();
    config.storage.read_pool_size = 4;
    config
}

pub fn spawn_app() -> TestApp {
    spawn_app_with(|_| {})
}

pub fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(&dir.path().join("data"));
    adjust(&mut config);
    start(dir, config).expect("server starts")
}

/// Starts a server over `dir` with `config`; the error is the start-up failure message.
pub fn start(dir: TempDir, config: Config) -> Result<TestApp, String> {
    let (sender, receiver) = mpsc::channel();
    let server_config = config.clone();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            match Application::build(server_config) {
                Ok(app) => {
                    let _ = sender.send(Ok((app.port(), app.handle())));
                    let _ = app.run_until_stopped().await;
                }
                Err(e) => {
                    let _ = sender.send(Err(e));
                }
            }
        })
    });
    let (port, handle) = receiver.recv().map_err(|e| e.to_string())??;
    Ok(TestApp {
        address: format!("http://127.0.0.1:{port}"),
        dir,
        config,
        handle: Some(handle),
        thread: Some(thread),
    })
}

impl TestApp {
    pub fn data_dir(&self) -> PathBuf {
        self.config.data_dir().to_path_buf()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.address)
    }

    /// Runs first-time setup and returns the administrator's signed-in browser.
    pub fn setup_admin(&self) -> Browser {
        let mut admin = self.browser();
        let answer = admin.post(
            "/api/v1/setup",
            json!({"company": "示例科技有限公司", "username": ADMIN, "password": ADMIN_PASSWORD,
                   "display_name": "王经理", "language": "zh-CN"}),
        );
        assert_eq!(answer.status, 201, "setup: {}", answer.text);
        admin.remember_csrf(&answer);
        admin
    }

    /// Stops the server and waits for it, releasing the data directory; returns the temp dir.
    pub fn stop(mut self) -> TempDir {
        self.shutdown();
        let dir = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.dir, dir)
    }

    fn shutdown(&mut self) {
        if let Some(handle) = self.handle.take() {
            actix_web::rt::System::new().block_on(handle.stop(true));
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// A direct connection to the server's SQLite file (for facts no API exposes yet).
    pub fn sql(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(self.config.database_path()).expect("open db");
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .unwrap();
        conn
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// What the server answered, read once.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    /// The body parsed as JSON, or `Null` when it is not JSON.
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

/// An HTTP client with its own cookie jar, like one browser.
pub struct Browser {
    base: String,
    pub client: Client,
    pub csrf: Option<String>,
    pub language: Option<&'static str>,
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        Browser {
            base: base.to_string(),
            client: Client::builder()
                .cookie_store(true)
                .build()
                .expect("client"),
            csrf: None,
            language: None,
        }
    }

    pub fn request(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        if method != Method::GET {
            if let Some(csrf) = &self.csrf {
                request = request.header("X-CSRF-Token", csrf);
            }
        }
        if let Some(language) = self.language {
            request = request.header("Accept-Language", language);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().expect("request sent"))
    }

    pub fn get(&self, path: &str) -> Answer {
        self.request(Method::GET, path, None)
    }

    pub fn post(&self, path: &str, body: Value) -> Answer {
        self.request(Method::POST, path, Some(body))
    }

    pub fn delete(&self, path: &str) -> Answer {
        self.request(Method::DELETE, path, None)
    }

    pub fn patch(&self, path: &str, body: Value) -> Answer {
        self.request(Method::PATCH, path, Some(body))
    }

    /// The raw bytes of a GET (file downloads).
    pub fn client_bytes(&self, path: &str) -> Vec<u8> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .expect("request sent");
        assert_eq!(response.status().as_u16(), 200);
        response.bytes().expect("body").to_vec()
    }

    /// A multipart form POST (file uploads), with the CSRF header like the UI sends.
    pub fn upload(&self, path: &str, form: reqwest::blocking::multipart::Form) -> Answer {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .multipart(form);
        if let Some(csrf) = &self.csrf {
            request = request.header("X-CSRF-Token", csrf);
        }
        if let Some(language) = self.language {
            request = request.header("Accept-Language", language);
        }
        read(request.send().expect("request sent"))
    }

    pub fn put(&self, path: &str, body: Value) -> Answer {
        self.request(Method::PUT, path, Some(body))
    }

    /// The same browser (its cookies and CSRF token) talking to a server at another address:
    /// the one restarted over the same data directory.
    pub fn at(&self, base: &str) -> Browser {
        Browser {
            base: base.to_string(),
            client: self.client.clone(),
            csrf: self.csrf.clone(),
            language: self.language,
        }
    }

    /// Signs in; on success keeps the CSRF token for later state-changing requests.
    pub fn login(&mut self, username: &str, password: &str) -> Answer {
        let answer = self.post(
            "/api/v1/auth/login",
            json!({"username": username, "password": password}),
        );
        self.remember_csrf(&answer);
        answer
    }

    pub fn remember_csrf(&mut self, answer: &Answer) {
        if let Some(token) = answer.body["csrf_token"].as_str() {
            self.csrf = Some(token.to_string());
        }
    }
}

pub fn read(response: Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        text,
        body,
    }
}

/// Runs the real `kehu` binary with `args` and optional stdin.
pub fn kehu(args: &[&str], stdin: Option<&str>) -> Output {
    kehu_with_env(args, stdin, &[])
}

pub fn kehu_with_env(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kehu"));
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("kehu runs");
    if let Some(input) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("stdin written");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("kehu finishes")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub const EMPLOYEE_PASSWORD: &str = "employee-pass-1";

pub fn create_department(admin: &Browser, name: &str, parent: Option<i64>) -> Value {
    let answer = admin.post(
        "/api/v1/departments",
        json!({"name": name, "parent_id": parent}),
    );
    assert_eq!(answer.status, 201, "{}", answer.text);
    answer.body
}

pub fn create_user(
    admin: &Browser,
    username: &str,
    department: Option<i64>,
    admin_role: bool,
) -> Value {
    let roles: Vec<i64> = if admin_role { vec![1] } else { vec![] };
    create_user_with_roles(admin, username, department, &roles)
}

pub fn create_user_with_roles(
    admin: &Browser,
    username: &str,
    department: Option<i64>,
    roles: &[i64],
) -> Value {
    let answer = admin.post(
        "/api/v1/users",
        json!({"username": username, "password": EMPLOYEE_PASSWORD, "display_name": username,
               "department_id": department, "role_ids": roles}),
    );
    assert_eq!(answer.status, 201, "{}", answer.text);
    answer.body
}

/// A role granting `actions` with `scope` on every module in `modules`.
pub fn create_role(
    admin: &Browser,
    name: &str,
    modules: &[&str],
    actions: &[&str],
    scope: &str,
) -> i64 {
    let permissions: serde_json::Map<String, Value> = modules
        .iter()
        .map(|m| (m.to_string(), json!({"actions": actions, "scope": scope})))
        .collect();
    let answer = admin.post(
        "/api/v1/roles",
        json!({"name": name, "permissions": permissions}),
    );
    assert_eq!(answer.status, 201, "{}", answer.text);
    answer.body["id"].as_i64().expect("role id")
}

impl TestApp {
    /// A browser signed in as `username` (with the employee password).
    pub fn signed_in(&self, username: &str) -> Browser {
        let mut browser = self.browser();
        let answer = browser.login(username, EMPLOYEE_PASSWORD);
        assert_eq!(answer.status, 200, "{}", answer.text);
        browser
    }
}

/// A multipart upload with one file part named `file`; add the other parts with `.text(…)`.
pub fn file_form(file_name: &str, bytes: impl Into<Vec<u8>>) -> reqwest::blocking::multipart::Form {
    let part =
        reqwest::blocking::multipart::Part::bytes(bytes.into()).file_name(file_name.to_string());
    reqwest::blocking::multipart::Form::new().part("file", part)
}

/// Polls `probe` until it holds (at most 20 s): for what the server does after answering.
pub fn wait_until(what: &str, mut probe: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !probe() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "waited for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
