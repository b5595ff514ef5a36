//! The operator's side, through the real `kehu` binary: backup, restore, check, users, setup,
//! configuration errors, upgrades.

use crate::helpers::*;
use kehu::db::migrations;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

fn integrity(path: &Path) -> String {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

fn backups_in(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.file_name().unwrap().to_str().unwrap().starts_with(prefix));
    files.sort();
    files
}

fn data_dir_arg(app: &TestApp) -> String {
    app.data_dir().display().to_string()
}

/// Runs `kehu backup` for `app` into `out` (plus `extra` arguments); returns the file it printed.
fn backup_with(app: &TestApp, out: &Path, extra: &[&str]) -> PathBuf {
    let data_dir = data_dir_arg(app);
    let mut args = vec![
        "backup",
        "--data-dir",
        &data_dir,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let output = kehu(&args, None);
    assert!(
        output.status.success(),
        "backup failed: {}",
        text(&output.stderr)
    );
    PathBuf::from(text(&output.stdout).trim())
}

#[test]
fn backup_while_writes_run_passes_integrity_check() {
    let app = spawn_app();
    app.setup_admin();
    let out = app.dir.path().join("backups");
    let stop = AtomicBool::new(false);
    let writes = AtomicUsize::new(0);
    let (outputs, during) = std::thread::scope(|scope| {
        for worker in 0..3 {
            let (app, stop, writes) = (&app, &stop, &writes);
            scope.spawn(move || {
                let mut browser = app.browser();
                assert_eq!(browser.login(ADMIN, ADMIN_PASSWORD).status, 200);
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let name = format!("writer {worker} #{n}");
                    assert_eq!(
                        browser
                            .patch("/api/v1/auth/me", json!({"display_name": name}))
                            .status,
                        200
                    );
                    writes.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        while writes.load(Ordering::Relaxed) < 3 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let before = writes.load(Ordering::Relaxed);
        let args = [
            "backup",
            "--data-dir",
            &data_dir_arg(&app),
            "--out",
            out.to_str().unwrap(),
        ];
        let outputs: Vec<_> = (0..3).map(|_| kehu(&args, None)).collect();
        let during = writes.load(Ordering::Relaxed) - before;
        // Stop the writers before any assertion, so a failure cannot leave them running.
        stop.store(true, Ordering::Relaxed);
        (outputs, during)
    });
    assert!(during > 0, "writes ran while the backups did");
    let mut printed = Vec::new();
    for output in outputs {
        assert!(
            output.status.success(),
            "backup failed: {}",
            text(&output.stderr)
        );
        printed.push(text(&output.stdout).trim().to_string());
    }
    for file in &printed {
        let path = Path::new(file);
        assert!(path.is_file(), "printed path exists: {file}");
        assert_eq!(integrity(path), "ok");
        let users: i64 = rusqlite::Connection::open(path)
            .unwrap()
            .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
            .unwrap();
        assert_eq!(users, 1);
    }
    assert!(
        backups_in(&out, ".").is_empty(),
        "no partial files left behind"
    );
    let logged: i64 = app
        .sql()
        .query_row(
            "SELECT count(*) FROM audit_log WHERE action = 'backup'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(logged, 3, "backups are in the operation log");
}

#[test]
fn backup_keeps_only_the_newest_n() {
    let app = spawn_app();
    app.setup_admin();
    let out = app.dir.path().join("kept");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(
        out.join("kehu-pre-migration-v1-20200101-000000-000.db"),
        b"not pruned",
    )
    .unwrap();
    std::fs::write(out.join("notes.txt"), b"not ours").unwrap();
    let mut written = Vec::new();
    for _ in 0..4 {
        written.push(backup_with(&app, &out, &["--keep", "2"]));
    }
    assert_eq!(
        backups_in(&out, "kehu-backup-"),
        written[2..].to_vec(),
        "the two newest remain"
    );
    assert!(out
        .join("kehu-pre-migration-v1-20200101-000000-000.db")
        .exists());
    assert!(out.join("notes.txt").exists());
}

#[test]
fn restore_round_trip_keeps_the_replaced_database() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let out = app.dir.path().join("b");
    let backup = backup_with(&app, &out, &[]).display().to_string();
    admin.patch(
        "/api/v1/auth/me",
        json!({"display_name": "changed after the backup"}),
    );

    let config = app.config.clone();
    let dir = app.stop();
    let output = kehu(
        &[
            "restore",
            "--data-dir",
            config.data_dir().to_str().unwrap(),
            &backup,
        ],
        None,
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let replaced = backups_in(config.data_dir(), "kehu.db.replaced-");
    assert_eq!(
        replaced.len(),
        1,
        "the replaced database is kept: {}",
        text(&output.stdout)
    );

    let app = start(dir, config).unwrap();
    let mut browser = app.browser();
    assert_eq!(
        browser.login(ADMIN, ADMIN_PASSWORD).body["user"]["display_name"],
        "王经理"
    );
    let check = kehu(&["check", "--data-dir", &data_dir_arg(&app)], None);
    assert!(check.status.success(), "{}", text(&check.stdout));
}

#[test]
fn restore_refuses_garbage_and_leaves_the_data_untouched() {
    let app = spawn_app();
    app.setup_admin();
    let config = app.config.clone();
    let dir = app.stop();
    let db = config.database_path();
    let before = std::fs::read(&db).unwrap();

    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![0x42; 8192]).unwrap();
    let foreign = dir.path().join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
        .unwrap();
    for (file, why) in [
        (&garbage, "not a usable Kehu database"),
        (&foreign, "application id"),
        (&dir.path().join("missing.db"), "no such file"),
    ] {
        let output = kehu(
            &[
                "restore",
                "--data-dir",
                config.data_dir().to_str().unwrap(),
                file.to_str().unwrap(),
            ],
            None,
        );
        assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
        assert!(
            text(&output.stderr).contains(why),
            "{}",
            text(&output.stderr)
        );
    }
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "database byte-for-byte unchanged"
    );
    assert!(
        backups_in(config.data_dir(), "kehu.db.").is_empty(),
        "no staged or replaced files"
    );
}

#[test]
fn restore_is_refused_while_a_server_uses_the_data_dir() {
    let app = spawn_app();
    app.setup_admin();
    let out = app.dir.path().join("b");
    let backup = backup_with(&app, &out, &[]).display().to_string();
    let output = kehu(
        &["restore", "--data-dir", &data_dir_arg(&app), &backup],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("server is using"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(
        app.browser().get("/api/v1/setup").body["needed"],
        false,
        "server unaffected"
    );
}

#[test]
fn two_servers_never_share_a_data_dir() {
    let app = spawn_app();
    let second = start(tempfile::tempdir().unwrap(), app.config.clone());
    let error = second.err().expect("second server refused");
    assert!(error.contains("server is using"), "{error}");
}

#[test]
fn an_older_schema_is_backed_up_then_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(&dir.path().join("data"));
    std::fs::create_dir_all(config.data_dir()).unwrap();
    {
        let mut conn = rusqlite::Connection::open(config.database_path()).unwrap();
        migrations::apply_up_to(&mut conn, 1).unwrap();
        conn.execute(
            "INSERT INTO settings (key, value) VALUES ('company.name', 'Old Co')",
            [],
        )
        .unwrap();
    }
    let app = start(dir, config.clone()).unwrap();
    let pre = backups_in(&config.backup_dir(), "kehu-pre-migration-v1-");
    assert_eq!(pre.len(), 1, "a backup was written before migrating");
    let old = rusqlite::Connection::open(&pre[0]).unwrap();
    assert_eq!(
        migrations::schema_version(&old).unwrap(),
        1,
        "the backup holds the old schema"
    );
    assert_eq!(
        migrations::schema_version(&app.sql()).unwrap(),
        migrations::latest_version()
    );
    let name: String = app
        .sql()
        .query_row(
            "SELECT value FROM settings WHERE key = 'company.name'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(name, "Old Co", "data survives the upgrade");
}

#[test]
fn a_newer_schema_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(&dir.path().join("data"));
    std::fs::create_dir_all(config.data_dir()).unwrap();
    {
        let mut conn = rusqlite::Connection::open(config.database_path()).unwrap();
        migrations::apply_up_to(&mut conn, migrations::latest_version()).unwrap();
        conn.execute_batch("PRAGMA user_version = 999").unwrap();
    }
    let output = kehu(
        &[
            "serve",
            "--data-dir",
            config.data_dir().to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    let message = text(&output.stderr);
    assert!(
        message.contains("newer Kehu") && message.contains("999"),
        "{message}"
    );
    let conn = rusqlite::Connection::open(config.database_path()).unwrap();
    assert_eq!(
        migrations::schema_version(&conn).unwrap(),
        999,
        "left as it was"
    );
}

#[test]
fn bad_configuration_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let file = dir.path().join("bad.toml");
    // (config file contents, environment, the key the error must name)
    type Case = (String, Vec<(&'static str, &'static str)>, &'static str);
    let cases: Vec<Case> = vec![
        ("[server]\nlisten = 8080\n".into(), vec![], "server.listen"),
        (
            "[server]\nlisten = \"not an address\"\n".into(),
            vec![],
            "server.listen",
        ),
        (
            "[auth]\nlockout_seconds = 0\n".into(),
            vec![],
            "auth.lockout_seconds",
        ),
        (
            "[storage]\ncolour = \"red\"\n".into(),
            vec![],
            "storage.colour",
        ),
        ("this is = = not toml".into(), vec![], "not valid TOML"),
        (
            "".into(),
            vec![("KEHU_AUTH_MAX_FAILURES_PER_IP", "many")],
            "auth.max_failures_per_ip",
        ),
        (
            "".into(),
            vec![("KEHU_APP_DEFAULT_LANGUAGE", "fr")],
            "app.default_language",
        ),
    ];
    for (contents, env, key) in cases {
        std::fs::write(&file, &contents).unwrap();
        let output = kehu_with_env(
            &[
                "check",
                "--config",
                file.to_str().unwrap(),
                "--data-dir",
                data,
            ],
            None,
            &env,
        );
        assert_eq!(output.status.code(), Some(2), "{contents:?} {env:?}");
        assert!(
            text(&output.stderr).contains(key),
            "{key}: {}",
            text(&output.stderr)
        );
    }
    let output = kehu(&["--no-such-flag"], None);
    assert_eq!(output.status.code(), Some(2));
    let output = kehu(&["backup", "--keep", "lots"], None);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn operator_commands_explain_themselves() {
    for args in [
        vec!["--help"],
        vec!["backup", "--help"],
        vec!["restore", "--help"],
        vec!["check", "--help"],
        vec!["user", "create", "--help"],
        vec!["user", "reset-password", "--help"],
        vec!["setup", "--help"],
        vec!["serve", "--help"],
        vec!["import", "--help"],
        vec!["export", "--help"],
    ] {
        let output = kehu(&args, None);
        assert!(output.status.success(), "{args:?}");
        assert!(text(&output.stdout).contains("Usage"), "{args:?}");
    }
}

#[test]
fn check_reports_a_clean_database_and_a_missing_one() {
    let app = spawn_app();
    app.setup_admin();
    let output = kehu(&["check", "--data-dir", &data_dir_arg(&app)], None);
    assert!(output.status.success());
    assert!(text(&output.stdout).starts_with("ok"));
    let output = kehu(
        &[
            "check",
            "--data-dir",
            app.dir.path().join("empty").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("no database"));
}

#[test]
fn setup_and_user_commands_work_without_the_browser() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap();
    let output = kehu(
        &[
            "setup",
            "--data-dir",
            data_arg,
            "--company",
            "命令行公司",
            "--admin",
            "boss",
        ],
        Some("boss-password-1\n"),
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let again = kehu(
        &[
            "setup",
            "--data-dir",
            data_arg,
            "--company",
            "X",
            "--admin",
            "other",
        ],
        Some("other-password-1\n"),
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("already set up"),
        "{}",
        text(&again.stderr)
    );

    let weak = kehu(
        &["user", "create", "--data-dir", data_arg, "li.si"],
        Some("short\n"),
    );
    assert_eq!(weak.status.code(), Some(2));
    assert!(
        text(&weak.stderr).contains("too short"),
        "{}",
        text(&weak.stderr)
    );
    let created = kehu(
        &[
            "user",
            "create",
            "--data-dir",
            data_arg,
            "--display-name",
            "李四",
            "li.si",
        ],
        Some("lisi-password-1\n"),
    );
    assert!(created.status.success(), "{}", text(&created.stderr));
    let duplicate = kehu(
        &["user", "create", "--data-dir", data_arg, "LI.SI"],
        Some("lisi-password-1\n"),
    );
    assert_eq!(
        duplicate.status.code(),
        Some(2),
        "usernames are unique regardless of case"
    );

    let config = test_config(&data);
    let app = start(dir, config).unwrap();
    let mut boss = app.browser();
    let answer = boss.login("boss", "boss-password-1");
    assert_eq!(answer.body["user"]["is_admin"], true);
    assert_eq!(answer.body["user"]["company"]["name"], "命令行公司");
    let mut li = app.browser();
    assert_eq!(
        li.login("li.si", "lisi-password-1").body["user"]["is_admin"],
        false
    );

    let reset = kehu(
        &[
            "user",
            "reset-password",
            "--data-dir",
            &data_dir_arg(&app),
            "li.si",
        ],
        Some("another-pass-2\n"),
    );
    assert!(reset.status.success(), "{}", text(&reset.stderr));
    assert!(
        text(&reset.stdout).contains("1 session(s) ended"),
        "{}",
        text(&reset.stdout)
    );
    assert_eq!(
        li.get("/api/v1/auth/me").status,
        401,
        "sessions end on reset"
    );
    assert_eq!(app.browser().login("li.si", "another-pass-2").status, 200);
    let unknown = kehu(
        &[
            "user",
            "reset-password",
            "--data-dir",
            &data_dir_arg(&app),
            "ghost",
        ],
        Some("another-pass-2\n"),
    );
    assert_eq!(unknown.status.code(), Some(1));
}

#[test]
fn the_binary_serves_the_ui_on_its_own() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kehu"))
        .args([
            "--data-dir",
            dir.path().join("data").to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let port = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            line.split("http://localhost:").nth(1).map(|rest| {
                rest.split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
        })
        .expect("ready line with the port");
    let browser = Browser::new(&format!("http://127.0.0.1:{port}"));
    assert_eq!(browser.get("/healthz").status, 200);
    let page = browser.get("/");
    assert!(page
        .text
        .contains("<script type=\"module\" src=\"/js/main.js\"></script>"));
    assert_eq!(browser.get("/api/v1/setup").body["needed"], true);
    child.kill().unwrap();
    child.wait().unwrap();
}
