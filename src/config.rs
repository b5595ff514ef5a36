//! Settings: embedded defaults < `config.toml` < `KEHU_<SECTION>_<KEY>` environment < CLI flags.
//!
//! Every key has one home (the `Config` structs below) and one default. Layers are merged as TOML
//! tables, each key type-checked against its default so an error can name the key, then the
//! result is validated once; nothing reads a setting anywhere else.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use toml::{Table, Value};

pub const SUPPORTED_LANGUAGES: [&str; 2] = ["zh-CN", "en"];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub auth: AuthConfig,
    pub backup: BackupConfig,
    pub app: AppConfig,
    pub log: LogConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub listen: String,
    /// HTTP worker threads; 0 means one per CPU core.
    pub workers: i64,
    /// Set when a TLS-terminating proxy serves Kehu over HTTPS: cookies get the `Secure` flag.
    pub secure_cookies: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// Directory holding the database, its lock file and automatic backups.
    pub data_dir: String,
    /// Read connections in the pool (writes go through one dedicated connection).
    pub read_pool_size: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// A session ends after this many minutes without a request.
    pub session_idle_minutes: i64,
    /// A session ends this many hours after sign-in, however active.
    pub session_absolute_hours: i64,
    /// Failed sign-ins on one account within the window before it is locked.
    pub max_failures_per_account: i64,
    /// Failed sign-ins from one IP address within the window before it is locked.
    pub max_failures_per_ip: i64,
    /// The window over which failures are counted, in seconds.
    pub failure_window_seconds: i64,
    /// How long a locked account or address must wait, in seconds.
    pub lockout_seconds: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupConfig {
    /// Default directory for `kehu backup` and automatic pre-upgrade backups ("" = DATA_DIR/backups).
    pub dir: String,
    /// How many scheduled backups `kehu backup` keeps when no `--keep` is given (0 = keep all).
    pub keep: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// Setup-page language for browsers that speak neither Chinese nor English ("zh-CN" or "en");
    /// after setup the company's default language applies.
    pub default_language: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// tracing filter, e.g. "info" or "kehu=debug,actix_web=info".
    pub level: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            server: ServerConfig {
                listen: "0.0.0.0:8080".into(),
                workers: 0,
                secure_cookies: false,
            },
            storage: StorageConfig {
                data_dir: "data".into(),
                read_pool_size: 8,
            },
            auth: AuthConfig {
                session_idle_minutes: 8 * 60,
                session_absolute_hours: 7 * 24,
                max_failures_per_account: 5,
                max_failures_per_ip: 30,
                failure_window_seconds: 15 * 60,
                lockout_seconds: 5 * 60,
            },
            backup: BackupConfig {
                dir: String::new(),
                keep: 14,
            },
            app: AppConfig {
                default_language: "en".into(),
            },
            log: LogConfig {
                level: "info".into(),
            },
        }
    }
}

/// Values given on the command line; they win over every other layer.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
}

#[derive(Debug, PartialEq)]
pub struct ConfigError {
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => write!(f, "configuration key '{key}': {}", self.message),
            None => write!(f, "configuration: {}", self.message),
        }
    }
}

fn key_error(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key: Some(key.into()),
        message: message.into(),
    }
}

impl Config {
    /// Loads the layered configuration. `env` is a lookup so tests need not touch the process.
    /// Without `--config`, a `config.toml` in the working directory is used when present.
    pub fn load(
        overrides: &Overrides,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut table = defaults_table();
        let file = overrides
            .config_file
            .clone()
            .or_else(|| Some(PathBuf::from("config.toml")).filter(|p| p.exists()));
        if let Some(path) = file {
            merge_file(&mut table, &path)?;
        }
        merge_env(&mut table, &env)?;
        if let Some(dir) = &overrides.data_dir {
            set_key(
                &mut table,
                "storage",
                "data_dir",
                Value::String(dir.display().to_string()),
            );
        }
        if let Some(listen) = &overrides.listen {
            set_key(
                &mut table,
                "server",
                "listen",
                Value::String(listen.clone()),
            );
        }
        let config: Config = Value::Table(table).try_into().map_err(|e| ConfigError {
            key: None,
            message: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        let positive = [
            ("auth.session_idle_minutes", self.auth.session_idle_minutes),
            (
                "auth.session_absolute_hours",
                self.auth.session_absolute_hours,
            ),
            (
                "auth.max_failures_per_account",
                self.auth.max_failures_per_account,
            ),
            ("auth.max_failures_per_ip", self.auth.max_failures_per_ip),
            (
                "auth.failure_window_seconds",
                self.auth.failure_window_seconds,
            ),
            ("auth.lockout_seconds", self.auth.lockout_seconds),
        ];
        for (key, value) in positive {
            if value <= 0 {
                return Err(key_error(key, "must be a whole number greater than 0"));
            }
        }
        if !(0..=256).contains(&self.server.workers) {
            return Err(key_error("server.workers", "must be between 0 and 256"));
        }
        if !(1..=64).contains(&self.storage.read_pool_size) {
            return Err(key_error(
                "storage.read_pool_size",
                "must be between 1 and 64",
            ));
        }
        if self.storage.data_dir.trim().is_empty() {
            return Err(key_error("storage.data_dir", "must not be empty"));
        }
        if self.backup.keep < 0 {
            return Err(key_error("backup.keep", "must be 0 (keep all) or more"));
        }
        if !SUPPORTED_LANGUAGES.contains(&self.app.default_language.as_str()) {
            return Err(key_error(
                "app.default_language",
                "must be \"zh-CN\" or \"en\"",
            ));
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return Err(key_error(
                "log.level",
                "is not a valid log filter (try \"info\")",
            ));
        }
        Ok(())
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.server.listen.parse().map_err(|_| {
            key_error(
                "server.listen",
                format!(
                    "'{}' is not an address like 0.0.0.0:8080",
                    self.server.listen
                ),
            )
        })
    }

    pub fn data_dir(&self) -> &Path {
        Path::new(&self.storage.data_dir)
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir().join("kehu.db")
    }

    pub fn backup_dir(&self) -> PathBuf {
        if self.backup.dir.is_empty() {
            self.data_dir().join("backups")
        } else {
            PathBuf::from(&self.backup.dir)
        }
    }
}

fn defaults_table() -> Table {
    match Value::try_from(Config::default()) {
        Ok(Value::Table(table)) => table,
        _ => unreachable!("Config serialises to a TOML table"),
    }
}

fn merge_file(table: &mut Table, path: &Path) -> Result<(), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        key: None,
        message: format!("cannot read {}: {e}", path.display()),
    })?;
    let file: Table = text.parse().map_err(|e: toml::de::Error| ConfigError {
        key: None,
        message: format!("{} is not valid TOML: {}", path.display(), e.message()),
    })?;
    for (section, values) in file {
        let Value::Table(values) = values else {
            return Err(key_error(section, "must be a [section]"));
        };
        for (key, value) in values {
            let name = format!("{section}.{key}");
            let default = default_value(table, &section, &key)
                .ok_or_else(|| key_error(&name, "is not a known setting"))?;
            if std::mem::discriminant(default) != std::mem::discriminant(&value) {
                return Err(key_error(&name, format!("must be {}", type_name(default))));
            }
            set_key(table, &section, &key, value);
        }
    }
    Ok(())
}

fn merge_env(table: &mut Table, env: &impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
    let mut updates = Vec::new();
    for (section, values) in table.iter() {
        let Value::Table(values) = values else {
            continue;
        };
        for (key, default) in values {
            let var = format!("KEHU_{}_{}", section.to_uppercase(), key.to_uppercase());
            let Some(raw) = env(&var) else { continue };
            let name = format!("{section}.{key} (from {var})");
            let value = match default {
                Value::String(_) => Value::String(raw),
                Value::Integer(_) => raw
                    .trim()
                    .parse()
                    .map(Value::Integer)
                    .map_err(|_| key_error(&name, "must be a whole number"))?,
                Value::Boolean(_) => match raw.trim() {
                    "true" | "1" | "yes" => Value::Boolean(true),
                    "false" | "0" | "no" => Value::Boolean(false),
                    _ => return Err(key_error(&name, "must be true or false")),
                },
                other => {
                    return Err(key_error(
                        &name,
                        format!("cannot be set from the environment ({})", type_name(other)),
                    ))
                }
            };
            updates.push((section.clone(), key.clone(), value));
        }
    }
    for (section, key, value) in updates {
        set_key(table, &section, &key, value);
    }
    Ok(())
}

fn default_value<'a>(table: &'a Table, section: &str, key: &str) -> Option<&'a Value> {
    table.get(section)?.as_table()?.get(key)
}

fn set_key(table: &mut Table, section: &str, key: &str, value: Value) {
    if let Some(Value::Table(values)) = table.get_mut(section) {
        values.insert(key.to_string(), value);
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "a string in quotes",
        Value::Integer(_) => "a whole number",
        Value::Float(_) => "a number",
        Value::Boolean(_) => "true or false",
        Value::Datetime(_) => "a date",
        Value::Array(_) => "a list",
        Value::Table(_) => "a section",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults_are_valid() {
        let config = Config::load(&Overrides::default(), no_env).unwrap();
        assert_eq!(config.server.listen, "0.0.0.0:8080");
        assert_eq!(config.data_dir(), Path::new("data"));
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "[server]\nlisten = \"127.0.0.1:1000\"\nworkers = 3\n",
        )
        .unwrap();
        let overrides = Overrides {
            config_file: Some(file),
            data_dir: Some("/tmp/flag".into()),
            listen: None,
        };
        let env = |k: &str| match k {
            "KEHU_SERVER_WORKERS" => Some("5".to_string()),
            "KEHU_STORAGE_DATA_DIR" => Some("/tmp/env".to_string()),
            _ => None,
        };
        let config = Config::load(&overrides, env).unwrap();
        assert_eq!(config.server.listen, "127.0.0.1:1000");
        assert_eq!(config.server.workers, 5);
        assert_eq!(config.storage.data_dir, "/tmp/flag");
    }

    /// `config.example.toml` documents every key with its default: uncommented, it must load
    /// and equal the built-in defaults, key for key.
    #[test]
    fn example_file_lists_every_key_with_its_default() {
        let example = include_str!("../config.example.toml");
        let uncommented: String = example
            .lines()
            .map(|line| match line.strip_prefix("# ") {
                Some(rest) if rest_is_setting(line) => rest.to_string(),
                _ => line.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        let file: Table = uncommented.parse().unwrap();
        assert_eq!(file, defaults_table());
    }

    fn rest_is_setting(line: &str) -> bool {
        line.strip_prefix("# ")
            .and_then(|rest| rest.split_once(" = "))
            .is_some_and(|(key, _)| key.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
    }

    #[test]
    fn errors_name_the_key() {
        let env = |k: &str| (k == "KEHU_AUTH_LOCKOUT_SECONDS").then(|| "soon".to_string());
        let err = Config::load(&Overrides::default(), env).unwrap_err();
        assert!(err.to_string().contains("auth.lockout_seconds"), "{err}");

        let overrides = Overrides {
            listen: Some("nowhere".into()),
            ..Overrides::default()
        };
        let err = Config::load(&overrides, no_env).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("server.listen"));
    }
}
