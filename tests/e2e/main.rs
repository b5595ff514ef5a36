//! The browser suite: real headless Chromium (through chromedriver) against the real server on
//! a random port, over a fresh data directory, in zh-CN and en, on a desktop (1366×768) and a
//! phone (390×844). Every page a journey visits is checked: no console error, no untranslated
//! key, no text of the other language (user data aside), no horizontal scroll on the phone.
//! On failure the page's screenshot and HTML are saved under `target/e2e/` and the paths
//! printed.
//!
//! The server binary is `KEHU_E2E_BINARY` when set (scripts/test sets the release build), else
//! the one Cargo built for the tests.

mod journeys;
// The browser suite needs only part of the listener the API suite uses whole.
#[allow(dead_code)]
#[path = "../support/smtp.rs"]
mod smtp;
mod webdriver;

use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use webdriver::{free_port, Browser, Driver, Screen};

/// One browser at a time: two cores do not run four Chromiums well.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A Kehu server over its own temporary data directory, stopped when dropped.
pub struct Server {
    child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let binary = std::env::var("KEHU_E2E_BINARY")
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from(env!("CARGO_BIN_EXE_kehu")));
        let port = free_port();
        let child = Command::new(&binary)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .env_remove("KEHU_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} starts: {e}", binary.display()));
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while reqwest::blocking::get(format!("{url}/healthz")).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "the server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Server {
            child,
            url,
            _dir: dir,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The UI's strings in the language under test, and what tells the other language apart.
pub struct Texts {
    pub lang: &'static str,
    table: HashMap<String, String>,
    keys: HashSet<String>,
    /// Phrases of the other language that must not appear.
    foreign: Vec<String>,
    /// Language names, shown on purpose in the other language by the language switch.
    language_names: Vec<String>,
}

fn table(lang: &str) -> HashMap<String, String> {
    let path = format!("{}/assets/i18n/{lang}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

impl Texts {
    fn load(lang: &'static str) -> Texts {
        let own = table(lang);
        let other = table(if lang == "en" { "zh-CN" } else { "en" });
        // A key missing from one table shows as itself: look for every key of both.
        let keys = own.keys().chain(other.keys()).cloned().collect();
        // English phrases (several words) that the Chinese table says differently.
        let foreign = if lang == "zh-CN" {
            other
                .iter()
                .filter(|(k, v)| v.contains(' ') && v.len() >= 12 && own.get(*k) != Some(v))
                .filter(|(_, v)| !v.contains('{'))
                .map(|(_, v)| v.clone())
                .collect()
        } else {
            Vec::new()
        };
        let language_names = own
            .iter()
            .chain(other.iter())
            .filter(|(k, _)| k.starts_with("lang."))
            .map(|(_, v)| v.clone())
            .collect();
        Texts {
            lang,
            table: own,
            keys,
            foreign,
            language_names,
        }
    }

    /// The text for `key` with `{name}` placeholders filled.
    pub fn t(&self, key: &str, params: &[(&str, &str)]) -> String {
        let mut text = self
            .table
            .get(key)
            .unwrap_or_else(|| panic!("no {key} in {}", self.lang))
            .clone();
        for (name, value) in params {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }

    /// The text before the first placeholder (for messages with numbers in them).
    pub fn prefix(&self, key: &str) -> String {
        let text = self.t(key, &[]);
        text.split('{')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string()
    }
}

/// `target/e2e/{sub}`, created when missing: where screenshots and failed pages go.
fn artifacts(sub: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/e2e")
        .join(sub);
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// One run of the journeys: a server, a browser, a language and a screen.
pub struct Run {
    pub server: Server,
    pub browser: Browser,
    pub texts: Texts,
    pub screen: Screen,
    name: String,
    /// What people typed: exempt from the language checks.
    pub user_data: Vec<String>,
}

impl Run {
    pub fn url(&self, route: &str) -> String {
        format!("{}/#{route}", self.server.url)
    }

    pub fn t(&self, key: &str) -> String {
        self.texts.t(key, &[])
    }

    /// Saves a screenshot of the page as `target/e2e/shots/{run}-{name}.png`, for people to
    /// look at what the journeys saw.
    pub fn shoot(&self, name: &str) {
        let dir = artifacts("shots");
        let _ = std::fs::write(
            dir.join(format!("{}-{name}.png", self.name)),
            self.browser.screenshot(),
        );
    }

    /// Runs a journey; on failure saves the page and says where.
    fn journey(&mut self, name: &str, steps: impl FnOnce(&mut Run)) {
        let outcome = catch_unwind(AssertUnwindSafe(|| steps(self)));
        if let Err(panic) = outcome {
            let base = artifacts("").join(format!("{}-{name}", self.name));
            let png = base.with_extension("png");
            let html = base.with_extension("html");
            let _ = std::fs::write(&png, self.browser.screenshot());
            let _ = std::fs::write(&html, self.browser.source());
            eprintln!(
                "journey {name} failed ({}); saved {} and {}",
                self.name,
                png.display(),
                html.display()
            );
            resume_unwind(panic);
        }
    }

    /// The checks every visited page must pass.
    pub fn check_page(&self, page: &str) {
        self.check_page_allowing(page, &[]);
    }

    /// `check_page`, where the browser's console may report answers with the given statuses
    /// (Chromium logs every 4xx response, including the refusals a journey provokes).
    pub fn check_page_allowing(&self, page: &str, statuses: &[&str]) {
        let browser = &self.browser;
        let expected = |message: &String| {
            message.contains("Failed to load resource")
                && statuses
                    .iter()
                    .any(|s| message.contains(&format!("status of {s}")))
        };
        let errors: Vec<String> = browser
            .console()
            .into_iter()
            .filter(|m| !expected(m))
            .collect();
        assert!(errors.is_empty(), "{page}: console: {errors:?}");
        let text = browser.page_text();
        let untranslated: Vec<&str> = text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
            .filter(|word| word.contains('.') && self.texts.keys.contains(*word))
            .collect();
        assert!(
            untranslated.is_empty(),
            "{page}: untranslated {untranslated:?}"
        );
        let mut ui_text = text.clone();
        for data in self.user_data.iter().chain(&self.texts.language_names) {
            ui_text = ui_text.replace(data.as_str(), " ");
        }
        if self.texts.lang == "en" {
            let chinese: String = ui_text
                .chars()
                .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c))
                .collect();
            assert!(
                chinese.is_empty(),
                "{page}: Chinese on an English page: {chinese}"
            );
        } else {
            let english: Vec<&String> = self
                .texts
                .foreign
                .iter()
                .filter(|phrase| ui_text.contains(phrase.as_str()))
                .collect();
            assert!(
                english.is_empty(),
                "{page}: English on a Chinese page: {english:?}"
            );
        }
        if self.screen == Screen::Phone {
            let widths = browser.execute(
                "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];",
                Value::Null,
            );
            assert!(
                widths[0].as_i64() <= widths[1].as_i64(),
                "{page}: scrolls sideways on a phone: {widths}"
            );
        }
        assert!(!browser.dialog_open(), "{page}: a script dialog is open");
    }
}

fn run_all(lang: &'static str, screen: Screen) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let driver = Driver::start();
    let mut run = Run {
        server: Server::start(),
        browser: Browser::open(&driver, lang, screen),
        texts: Texts::load(lang),
        screen,
        name: format!("{lang}-{screen:?}").to_lowercase(),
        user_data: Vec::new(),
    };
    run.journey("1-setup", journeys::first_visit_sets_up_the_company);
    run.journey("2-organisation", journeys::admin_creates_a_team_and_a_user);
    run.journey("3-customer-day", journeys::a_rep_works_a_customer);
    run.journey("4-user-text", journeys::user_text_is_never_markup);
    run.journey("7-colleagues-talk", journeys::colleagues_talk_on_a_record);
    // Before the sign-in errors, which lock this address out for a while.
    run.journey("6-sales-week", journeys::a_sales_manager_runs_the_pipeline);
    run.journey("8-approval", journeys::a_rep_submits_and_a_manager_approves);
    run.journey("9-automation", journeys::an_admin_automates_a_reminder);
    run.journey("10-import", journeys::an_admin_imports_customers);
    run.journey("11-moving-in", journeys::a_company_moves_in_from_wukongcrm);
    run.journey("5-sign-in-errors", journeys::sign_in_errors_are_explained);
}

#[test]
fn chinese_on_a_desktop() {
    run_all("zh-CN", Screen::Desktop);
}

#[test]
fn english_on_a_desktop() {
    run_all("en", Screen::Desktop);
}

#[test]
fn chinese_on_a_phone() {
    run_all("zh-CN", Screen::Phone);
}

#[test]
fn english_on_a_phone() {
    run_all("en", Screen::Phone);
}
