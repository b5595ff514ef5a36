//! A small SMTP server the tests own (issue #21: mail goes to a real listener on a random
//! port): it greets, says yes to everything, and keeps each message, decoded, for the test to
//! read. Shared by the API suite and the browser suite.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A small SMTP server: it greets, says yes to everything, and keeps each message's text.
pub struct Smtp {
    pub port: u16,
    messages: Arc<Mutex<Vec<String>>>,
}

impl Smtp {
    pub fn start() -> Smtp {
        Smtp::on(TcpListener::bind("127.0.0.1:0").expect("a port"))
    }

    pub fn on(listener: TcpListener) -> Smtp {
        let port = listener.local_addr().unwrap().port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let kept = messages.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let kept = kept.clone();
                std::thread::spawn(move || converse(stream, &kept));
            }
        });
        Smtp { port, messages }
    }

    /// Waits for a message containing every one of `parts`; answers it.
    pub fn wait_for(&self, parts: &[&str]) -> String {
        let started = Instant::now();
        loop {
            let found = self
                .messages
                .lock()
                .unwrap()
                .iter()
                .find(|m| parts.iter().all(|p| m.contains(p)))
                .cloned();
            if let Some(message) = found {
                return message;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no mail with {parts:?}; got {:?}",
                self.messages.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn count(&self) -> usize {
        self.messages.lock().unwrap().len()
    }
}

fn converse(stream: TcpStream, kept: &Mutex<Vec<String>>) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut say = |text: &str| writer.write_all(format!("{text}\r\n").as_bytes()).is_ok();
    say("220 test.local ESMTP");
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_ascii_uppercase();
        if command.starts_with("EHLO") || command.starts_with("HELO") {
            say("250 test.local");
        } else if command == "DATA" {
            say("354 end with a dot");
            let mut message = String::new();
            loop {
                let mut data = String::new();
                if reader.read_line(&mut data).unwrap_or(0) == 0 {
                    return;
                }
                if data.trim_end() == "." {
                    break;
                }
                message.push_str(&data);
            }
            kept.lock().unwrap().push(decoded(&message));
            say("250 queued");
        } else if command == "QUIT" {
            say("221 bye");
            return;
        } else {
            say("250 OK");
        }
    }
}

/// The message with its subject and text decoded (lettre writes non-ASCII text as base64 or
/// quoted-printable, and subjects as encoded words).
fn decoded(message: &str) -> String {
    let mut out = encoded_words_decoded(message);
    if let Some((_, body)) = message.split_once("\r\n\r\n") {
        let joined: String = body.split_whitespace().collect();
        if let Some(bytes) = base64(&joined) {
            out.push_str(&String::from_utf8_lossy(&bytes));
        }
        let unfolded = body.replace("=\r\n", "");
        if let Ok(text) = quoted_printable(&unfolded) {
            out.push_str(&text);
        }
    }
    out
}

/// `text` with each base64 encoded word (`=?utf-8?b?…?=`, as in a subject) decoded in place;
/// the folding space between two adjacent words goes, as RFC 2047 says.
fn encoded_words_decoded(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    let mut after_word = false;
    while let Some(start) = rest.to_ascii_lowercase().find("=?utf-8?b?") {
        let word = &rest[start + 10..];
        let Some((encoded, after)) = word.split_once("?=") else {
            break;
        };
        let between = &rest[..start];
        if !(after_word && between.trim().is_empty()) {
            out.push_str(between);
        }
        after_word = true;
        match base64(encoded) {
            Some(bytes) => out.push_str(&String::from_utf8_lossy(&bytes)),
            None => out.push_str(&rest[start..start + 10 + encoded.len() + 2]),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Standard base64, padding optional; `None` for anything else.
fn base64(text: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for byte in text.trim_end_matches('=').bytes() {
        let value = ALPHABET.iter().position(|&c| c == byte)? as u32;
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Some(out)
}

fn quoted_printable(text: &str) -> Result<String, ()> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).map_err(drop)?;
            out.push(u8::from_str_radix(hex, 16).map_err(drop)?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(drop)
}
