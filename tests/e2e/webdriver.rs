//! A small W3C WebDriver client over blocking HTTP: just what the journeys need (open a page,
//! find, click, type, read, run a script, read the console, take a screenshot). ChromeDriver
//! speaks this protocol; no browser-automation crate is needed for so little.

use reqwest::blocking::Client;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The key under which WebDriver names an element.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long `wait_*` keep trying before the journey fails.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A running chromedriver, stopped when dropped.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Driver {
    pub fn start() -> Driver {
        let binary = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("chromedriver is installed (scripts/test installs chromium-driver)");
        let port = free_port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let http = Client::new();
        let started = Instant::now();
        while http.get(format!("{url}/status")).send().is_err() {
            assert!(started.elapsed() < PATIENCE, "chromedriver did not answer");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { child, url }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The screen a journey runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Desktop,
    Phone,
}

/// One browser window (a WebDriver session), closed when dropped.
pub struct Browser {
    http: Client,
    session: String,
}

#[derive(Debug, Clone)]
pub struct Element(String);

impl Browser {
    pub fn open(driver: &Driver, lang: &str, screen: Screen) -> Browser {
        let binary = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("chromium is installed (scripts/test installs it)");
        let mut args = vec![
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=1366,768",
        ];
        if screen == Screen::Phone {
            args.pop();
        }
        let mut options = json!({
            "binary": binary,
            "args": args,
            // Chromium ignores --lang in headless mode; the preference sets Accept-Language.
            "prefs": { "intl.accept_languages": lang },
        });
        if screen == Screen::Phone {
            options["mobileEmulation"] =
                json!({ "deviceMetrics": { "width": 390, "height": 844, "pixelRatio": 2 } });
        }
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": options,
            "goog:loggingPrefs": { "browser": "ALL" },
        } } });
        let http = Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client");
        let answer: Value = http
            .post(format!("{}/session", driver.url))
            .json(&capabilities)
            .send()
            .and_then(|r| r.json())
            .expect("a browser session");
        let id = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"));
        Browser {
            http,
            session: format!("{}/session/{id}", driver.url),
        }
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.session));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request
            .send()
            .and_then(|r| r.json())
            .unwrap_or_else(|e| panic!("webdriver {path}: {e}"));
        answer["value"].clone()
    }

    fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body))
    }

    fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None)
    }

    pub fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url }));
    }

    pub fn current_url(&self) -> String {
        self.get("/url").as_str().unwrap_or_default().to_string()
    }

    fn find_by(&self, using: &str, value: &str) -> Vec<Element> {
        self.post("/elements", json!({ "using": using, "value": value }))
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e[ELEMENT].as_str().map(|id| Element(id.to_string())))
            .collect()
    }

    /// Visible elements matching a CSS selector.
    pub fn all(&self, css: &str) -> Vec<Element> {
        self.find_by("css selector", css)
            .into_iter()
            .filter(|e| self.displayed(e))
            .collect()
    }

    pub fn displayed(&self, element: &Element) -> bool {
        self.get(&format!("/element/{}/displayed", element.0))
            .as_bool()
            .unwrap_or(false)
    }

    /// Waits for a visible element matching `css`.
    pub fn wait(&self, css: &str) -> Element {
        self.wait_until(&format!("an element {css}"), || {
            self.all(css).into_iter().next()
        })
    }

    /// Waits for a visible element whose text (or value) contains `text`, among `css`.
    pub fn wait_text(&self, css: &str, text: &str) -> Element {
        self.wait_until(&format!("{css} with text {text:?}"), || {
            self.all(css)
                .into_iter()
                .find(|e| self.text(e).contains(text))
        })
    }

    /// Keeps asking until `probe` answers, or fails the journey after `PATIENCE`.
    pub fn wait_until<T>(&self, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
        let started = Instant::now();
        loop {
            if let Some(found) = probe() {
                return found;
            }
            if started.elapsed() > PATIENCE {
                panic!("waited {PATIENCE:?} for {what} on {}", self.current_url());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn click(&self, element: &Element) {
        self.execute(
            "arguments[0].scrollIntoView({block: 'center'});",
            json!([self.reference(element)]),
        );
        self.post(&format!("/element/{}/click", element.0), json!({}));
    }

    /// Clicks the visible button (or link) whose text contains `text`.
    pub fn click_text(&self, text: &str) {
        let button = self.wait_text("button, a", text);
        self.click(&button);
    }

    pub fn type_into(&self, element: &Element, text: &str) {
        self.post(&format!("/element/{}/clear", element.0), json!({}));
        self.keys(element, text);
    }

    /// Types `text` where the caret is, after what the element already holds.
    pub fn keys(&self, element: &Element, text: &str) {
        self.post(
            &format!("/element/{}/value", element.0),
            json!({ "text": text }),
        );
    }

    /// Fills the visible input named `name` inside `scope` (a CSS selector).
    pub fn fill(&self, scope: &str, name: &str, text: &str) {
        let input = self.wait(&format!("{scope} [name=\"{name}\"]"));
        self.type_into(&input, text);
    }

    /// Picks `value` in the visible select named `name` inside `scope`.
    pub fn choose(&self, scope: &str, name: &str, value: &str) {
        let select = self.wait(&format!("{scope} select[name=\"{name}\"]"));
        self.execute(
            "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
            json!([self.reference(&select), value]),
        );
    }

    /// Picks the option whose text contains `text` in the visible select named `name`.
    pub fn choose_text(&self, scope: &str, name: &str, text: &str) {
        let select = self.wait(&format!("{scope} select[name=\"{name}\"]"));
        self.execute(
            "const s = arguments[0]; const o = [...s.options].find((o) => o.text.includes(arguments[1]));
             s.value = o.value; s.dispatchEvent(new Event('change', {bubbles: true}));",
            json!([self.reference(&select), text]),
        );
    }

    /// Sets an input's value as if typed (for date and time pickers, whose typing is locale
    /// dependent).
    pub fn set_value(&self, element: &Element, value: &str) {
        self.execute(
            "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
            json!([self.reference(element), value]),
        );
    }

    pub fn text(&self, element: &Element) -> String {
        self.get(&format!("/element/{}/text", element.0))
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn reference(&self, element: &Element) -> Value {
        json!({ ELEMENT: element.0 })
    }

    pub fn execute(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
    }

    /// The page's visible text.
    pub fn page_text(&self) -> String {
        self.execute("return document.body.innerText;", json!([]))
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn source(&self) -> String {
        self.get("/source").as_str().unwrap_or_default().to_string()
    }

    /// Console messages since the last call (warnings and errors).
    pub fn console(&self) -> Vec<String> {
        self.post("/se/log", json!({ "type": "browser" }))
            .as_array()
            .into_iter()
            .flatten()
            .filter(|entry| matches!(entry["level"].as_str(), Some("SEVERE" | "WARNING")))
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Whether a JavaScript dialog (alert, confirm) is open.
    pub fn dialog_open(&self) -> bool {
        let answer = self.call(reqwest::Method::GET, "/alert/text", None);
        answer.is_string()
    }

    pub fn screenshot(&self) -> Vec<u8> {
        decode_base64(self.get("/screenshot").as_str().unwrap_or_default())
    }

    pub fn new_tab(&self) -> String {
        self.post("/window/new", json!({ "type": "tab" }))["handle"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn window(&self) -> String {
        self.get("/window").as_str().unwrap_or_default().to_string()
    }

    pub fn switch_to(&self, handle: &str) {
        self.post("/window", json!({ "handle": handle }));
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.http.delete(&self.session).send();
    }
}

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut buffer, mut bits) = (0u32, 0);
    for sextet in text.bytes().filter_map(value) {
        buffer = (buffer << 6) | u32::from(sextet);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}
