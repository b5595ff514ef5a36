//! Import: mapping, dry run with a per-row report, all-or-nothing per file, upsert, undo,
//! XLSX round trip with export, and access.

use crate::helpers::*;
use reqwest::blocking::multipart::Form;
use serde_json::{json, Value};

fn form(file_name: &str, bytes: Vec<u8>, mapping: Value) -> Form {
    file_form(file_name, bytes).text("mapping", mapping.to_string())
}

fn import(browser: &Browser, entity: &str, dry_run: bool, form: Form) -> Answer {
    browser.upload(&format!("/api/v1/{entity}/import?dry_run={dry_run}"), form)
}

fn mapping() -> Value {
    json!({"客户名称": "name", "级别": "level", "电话": "phone", "负责人": "owner_id",
           "标签": "tags", "备注": ""})
}

const GOOD: &str = "客户名称,级别,电话,负责人,标签,备注\n\
    苏州工业园科技,A 重点客户,0512-6666 8888,王经理,\"华东,重点\",忽略\n\
    Acme Trading,b,,admin,,\n";

/// Three bad rows among good ones: a picklist value that does not exist, a row without the
/// required name, a phone that is not one; and a duplicate of an existing customer.
const BAD: &str = "客户名称,级别,电话,负责人,标签,备注\n\
    杭州西湖茶业,Z,,,,\n\
    ,A,,,,\n\
    \n\
    宁波港贸易,B,not a phone,,,\n\
    已有客户,C,,,,\n\
    无锡好运来,C,,,,\n";

fn count(app: &TestApp) -> i64 {
    app.sql()
        .query_row(
            "SELECT count(*) FROM customers WHERE deleted_at IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn a_dry_run_reports_every_bad_row_and_writes_nothing() {
    let app = spawn_app();
    let admin = app.setup_admin();
    assert_eq!(
        admin
            .post("/api/v1/customers", json!({"name": "已有客户"}))
            .status,
        201
    );
    let report = import(
        &admin,
        "customers",
        true,
        form("客户.csv", BAD.into(), mapping()),
    );
    assert_eq!(report.status, 200, "{}", report.text);
    assert_eq!(report.body["rows"], 5, "the blank line is not a row");
    assert_eq!(report.body["error_count"], 4);
    assert_eq!(report.body["would_create"], 1);
    assert_eq!(report.body["batch_id"], Value::Null);
    let errors: Vec<(i64, Value, String)> = report.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row"].as_i64().unwrap(),
                e["field"].clone(),
                e["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            (2, json!("level"), "one_of".to_string()),
            (3, json!("name"), "required".to_string()),
            (5, json!("phone"), "invalid_phone".to_string()),
            (6, Value::Null, "duplicate".to_string()),
        ]
    );
    let messages = &report.body["errors"];
    assert!(
        messages[0]["message"].as_str().unwrap().contains("A"),
        "{}",
        report.text
    );
    assert!(
        messages[3]["message"]
            .as_str()
            .unwrap()
            .contains("已有客户"),
        "the duplicate is named"
    );
    assert_eq!(count(&app), 1, "a dry run writes nothing");

    let real = import(
        &admin,
        "customers",
        false,
        form("客户.csv", BAD.into(), mapping()),
    );
    assert_eq!(real.status, 200, "{}", real.text);
    assert_eq!(real.body["error_count"], 4);
    assert_eq!(real.body["created"], 0);
    assert_eq!(
        count(&app),
        1,
        "one bad row and nothing of the file is kept"
    );
    let history: i64 = app
        .sql()
        .query_row("SELECT count(*) FROM record_history", [], |r| r.get(0))
        .unwrap();
    assert_eq!(history, 1, "no history of rolled-back rows");
}

#[test]
fn an_import_creates_through_the_record_rules_and_can_be_undone() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let done = import(
        &admin,
        "customers",
        false,
        form("客户.csv", GOOD.into(), mapping()),
    );
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["created"], 2);
    assert_eq!(done.body["error_count"], 0);
    let batch = done.body["batch_id"].as_i64().unwrap();

    let found = admin.get("/api/v1/customers?q=工业园");
    let record = &found.body["items"][0];
    assert_eq!(record["level"], "A", "labels are read as picklist values");
    assert_eq!(record["tags"], json!(["华东", "重点"]));
    assert_eq!(record["owner_id"], 1, "the owner is found by display name");
    assert_eq!(record["phone"], "0512-6666 8888");
    let id = record["id"].as_i64().unwrap();
    let history = admin.get(&format!("/api/v1/customers/{id}/history"));
    assert_eq!(history.body["items"][0]["action"], "created");

    // The same file again: every row is now a duplicate.
    let again = import(
        &admin,
        "customers",
        true,
        form("客户.csv", GOOD.into(), mapping()),
    );
    assert_eq!(again.body["error_count"], 2, "{}", again.text);
    // With the name as key, the rows update the records instead.
    let changed = GOOD.replace("0512-6666 8888", "0512-6666 9999");
    let upsert = form("客户.csv", changed.into(), mapping()).text("upsert_key", "name");
    let updated = import(&admin, "customers", false, upsert);
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(updated.body["updated"], 2, "{}", updated.text);
    assert_eq!(updated.body["created"], 0);
    let upsert_batch = updated.body["batch_id"].as_i64().unwrap();
    let record = admin.get(&format!("/api/v1/customers/{id}")).body;
    assert_eq!(record["phone"], "0512-6666 9999");

    let batches = admin.get("/api/v1/imports?entity=customers");
    assert_eq!(batches.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(batches.body["items"][0]["updated"], 2);

    let undone = admin.delete(&format!("/api/v1/imports/{upsert_batch}"));
    assert_eq!(undone.status, 200, "{}", undone.text);
    assert_eq!(undone.body["reverted"], 2);
    let record = admin.get(&format!("/api/v1/customers/{id}")).body;
    assert_eq!(
        record["phone"], "0512-6666 8888",
        "the previous value is back"
    );
    assert_eq!(
        admin
            .delete(&format!("/api/v1/imports/{upsert_batch}"))
            .error_code(),
        "already_undone"
    );
    let undone = admin.delete(&format!("/api/v1/imports/{batch}"));
    assert_eq!(
        undone.body["deleted"], 0,
        "records changed since are left alone"
    );
    assert_eq!(undone.body["skipped"].as_array().unwrap().len(), 2);
}

#[test]
fn undoing_an_import_moves_its_records_to_the_recycle_bin() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let done = import(
        &admin,
        "customers",
        false,
        form("客户.csv", GOOD.into(), mapping()),
    );
    let batch = done.body["batch_id"].as_i64().unwrap();
    let acme = admin.get("/api/v1/customers?q=Acme").body["items"][0].clone();
    let patched = admin.patch(
        &format!("/api/v1/customers/{}", acme["id"]),
        json!({"version": acme["version"], "region": "上海"}),
    );
    assert_eq!(patched.status, 200);
    let undone = admin.delete(&format!("/api/v1/imports/{batch}"));
    assert_eq!(undone.status, 200, "{}", undone.text);
    assert_eq!(undone.body["deleted"], 1, "{}", undone.text);
    assert_eq!(undone.body["skipped"][0]["reason"], "changed_since");
    assert_eq!(count(&app), 1);
    let bin = admin.get("/api/v1/recycle-bin/customers");
    assert_eq!(bin.body["total"], 1, "undone records go to the recycle bin");
    let log = admin.get("/api/v1/audit-log?action=import_undone");
    assert_eq!(log.body["total"], 1);
}

#[test]
fn an_exported_xlsx_imports_back() {
    let app = spawn_app();
    let admin = app.setup_admin();
    for (name, level) in [("北京朝阳商贸", "A"), ("=HYPERLINK(\"x\")", "B")] {
        let answer = admin.post(
            "/api/v1/customers",
            json!({"name": name, "level": level, "tags": ["老客户"]}),
        );
        assert_eq!(answer.status, 201);
    }
    let file = admin.client_bytes("/api/v1/customers/export?format=xlsx");
    let preview = admin.upload(
        "/api/v1/customers/import/preview",
        file_form("customers.xlsx", file.clone()),
    );
    assert_eq!(preview.status, 200, "{}", preview.text);
    assert_eq!(preview.body["rows"], 2);
    assert_eq!(
        preview.body["mapping"]["客户名称"], "name",
        "headers are matched to fields by label"
    );
    assert_eq!(preview.body["mapping"]["客户级别"], "level");
    assert_eq!(preview.body["mapping"]["ID"], "");
    let mapping = json!({"客户名称": "name", "客户级别": "level", "标签": "tags"});
    let dry = import(
        &admin,
        "customers",
        true,
        form("customers.xlsx", file.clone(), mapping.clone()),
    );
    assert_eq!(
        dry.body["error_count"], 2,
        "both already exist: {}",
        dry.text
    );
    let confirmed = form("customers.xlsx", file, mapping).text("confirm_duplicates", "true");
    let done = import(&admin, "customers", false, confirmed);
    assert_eq!(done.body["created"], 2, "{}", done.text);
    let listed = admin.get("/api/v1/customers?filter[level]=B");
    assert_eq!(listed.body["total"], 2);
    assert_eq!(
        listed.body["items"][0]["name"], "=HYPERLINK(\"x\")",
        "a neutralised cell comes back as the text it was before export"
    );
}

/// Other systems' exports: 公司名称 is a customer's name, 手机号码 a contact's mobile; the API
/// guesses the mapping from the headers when none is sent, as the CLI and the preview do.
#[test]
fn headers_of_other_systems_map_without_a_mapping() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let file =
        "公司名称,联系电话,所属行业,官网\n苏州工业园科技,0512-6666 8888,制造业,szip.example.com\n";
    let preview = admin.upload(
        "/api/v1/customers/import/preview",
        file_form("export.csv", file.as_bytes().to_vec()),
    );
    assert_eq!(preview.status, 200, "{}", preview.text);
    assert_eq!(
        preview.body["mapping"],
        json!({"公司名称": "name", "联系电话": "phone", "所属行业": "industry", "官网": "website"})
    );
    let done = import(
        &admin,
        "customers",
        false,
        file_form("export.csv", file.as_bytes().to_vec()),
    );
    assert_eq!(
        done.status, 200,
        "no mapping sent, one guessed: {}",
        done.text
    );
    assert_eq!(done.body["created"], 1, "{}", done.text);
    let customer = &admin.get("/api/v1/customers").body["items"][0];
    assert_eq!(customer["name"], "苏州工业园科技");
    assert_eq!(customer["website"], "https://szip.example.com");
    assert_eq!(
        customer["industry"], "manufacturing",
        "the label read as its value"
    );
}

#[test]
fn bad_uploads_are_refused_with_the_reason() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let cases = [
        (
            form("x.xlsx", b"PK\x03\x04garbage".to_vec(), mapping()),
            "file",
            "unreadable",
        ),
        (form("x.csv", Vec::new(), mapping()), "file", "empty_file"),
        (
            form(
                "x.csv",
                GOOD.into(),
                json!({"客户名称": "name", "颜色": "name"}),
            ),
            "mapping",
            "unknown_column",
        ),
        (
            form("x.csv", GOOD.into(), json!({"客户名称": "colour"})),
            "mapping",
            "not_importable",
        ),
        (
            form(
                "x.csv",
                GOOD.into(),
                json!({"客户名称": "last_followup_at"}),
            ),
            "mapping",
            "not_importable",
        ),
        (
            form(
                "x.csv",
                GOOD.into(),
                json!({"客户名称": "name", "级别": "name"}),
            ),
            "mapping",
            "mapped_twice",
        ),
        (
            form("x.csv", GOOD.into(), json!({"客户名称": ""})),
            "mapping",
            "required",
        ),
        (
            form("x.csv", GOOD.into(), mapping()).text("upsert_key", "level"),
            "upsert_key",
            "invalid",
        ),
        (Form::new().text("mapping", "{}"), "file", "required"),
        (
            form("x.csv", GOOD.into(), mapping()).text("colour", "red"),
            "colour",
            "unknown_field",
        ),
    ];
    for (form, field, code) in cases {
        let answer = import(&admin, "customers", true, form);
        assert_eq!(answer.status, 422, "{field} {code}: {}", answer.text);
        assert_eq!(
            answer.body["error"]["field_codes"][field], code,
            "{}",
            answer.text
        );
    }
    // Level Z is no option of the picklist.
    let rows: String = std::iter::once("客户名称,级别\n".to_string())
        .chain((0..200_001).map(|i| format!("c{i}\n")))
        .collect();
    let answer = import(
        &admin,
        "customers",
        true,
        form("x.csv", rows.into(), json!({"客户名称": "name"})),
    );
    assert_eq!(answer.body["error"]["field_codes"]["file"], "too_many_rows");
    let answer = admin.upload(
        "/api/v1/customers/import?dry_run=maybe",
        form("x.csv", GOOD.into(), mapping()),
    );
    assert_eq!(answer.status, 400);
    assert_eq!(count(&app), 0);
}

#[test]
fn import_needs_the_right_and_keeps_to_the_scope() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let team = create_department(&admin, "销售一部", None)["id"].as_i64();
    let importer = create_role(
        &admin,
        "导入员",
        &["customers"],
        &["view", "create", "edit", "import"],
        "own",
    );
    let plain = create_role(
        &admin,
        "普通",
        &["customers"],
        &["view", "create", "edit"],
        "own",
    );
    create_user_with_roles(&admin, "rep", team, &[importer]);
    create_user_with_roles(&admin, "other", team, &[plain]);
    let rep = app.signed_in("rep");
    let other = app.signed_in("other");
    assert_eq!(
        import(
            &other,
            "customers",
            true,
            form("x.csv", GOOD.into(), mapping())
        )
        .status,
        403
    );
    let refused = import(
        &rep,
        "customers",
        true,
        form("x.csv", GOOD.into(), mapping()),
    );
    assert_eq!(refused.status, 200, "{}", refused.text);
    let codes: Vec<&str> = refused.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["not_assignable", "not_assignable"],
        "rows may not hand records outside the scope"
    );
    let theirs = other.post("/api/v1/customers", json!({"name": "别人的客户"}));
    assert_eq!(theirs.status, 201);
    let upsert = form(
        "x.csv",
        "客户名称,电话\n别人的客户,13800000000\n".into(),
        json!({"客户名称": "name", "电话": "phone"}),
    )
    .text("upsert_key", "name")
    .text("confirm_duplicates", "true");
    let answer = import(&rep, "customers", false, upsert);
    assert_eq!(
        answer.body["created"], 1,
        "an invisible record is not updated: {}",
        answer.text
    );
    let untouched = other.get(&format!("/api/v1/customers/{}", theirs.body["id"]));
    assert_eq!(untouched.body["phone"], Value::Null);
    let batch = answer.body["batch_id"].as_i64().unwrap();
    assert_eq!(
        other.delete(&format!("/api/v1/imports/{batch}")).status,
        404,
        "only the importer undoes"
    );
    for (method, path) in [
        ("GET", format!("/api/v1/imports/{batch}")),
        ("POST", format!("/api/v1/imports/{batch}/cancel")),
    ] {
        let answer = match method {
            "GET" => other.get(&path),
            _ => other.post(&path, json!({})),
        };
        assert_eq!(
            answer.status, 404,
            "{method} {path}: another's import is not found"
        );
        assert_eq!(answer.error_code(), "not_found");
    }
    assert_eq!(
        other.get("/api/v1/imports?running=maybe").error_code(),
        "invalid_query"
    );
}

/// `kehu import` and `kehu export` do what the browser does, as the named user, with a
/// progress line; a bad file imports nothing and says which rows are wrong.
#[test]
fn the_command_line_imports_and_exports_as_a_user() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let data_dir = app.data_dir().display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("客户.csv");
    std::fs::write(&good, GOOD).unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, BAD).unwrap();
    let cli = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--data-dir", &data_dir]);
        kehu(&all, None)
    };

    let dry = cli(&[
        "import",
        "customers",
        good.to_str().unwrap(),
        "--as",
        "admin",
        "--dry-run",
    ]);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    assert!(
        text(&dry.stdout).contains("would create 2"),
        "{}",
        text(&dry.stdout)
    );
    assert_eq!(count(&app), 0);

    let failed = cli(&[
        "import",
        "customers",
        bad.to_str().unwrap(),
        "--as",
        "admin",
    ]);
    assert_eq!(failed.status.code(), Some(1));
    let errors = text(&failed.stderr);
    assert!(
        errors.contains("row 2: level") && errors.contains("nothing was imported"),
        "{errors}"
    );
    assert_eq!(count(&app), 0);

    let done = cli(&[
        "import",
        "customers",
        good.to_str().unwrap(),
        "--as",
        "admin",
    ]);
    assert!(done.status.success(), "{}", text(&done.stderr));
    assert!(
        text(&done.stdout).contains("2 created"),
        "{}",
        text(&done.stdout)
    );
    assert!(
        text(&done.stderr).contains("importing: 2 / 2 rows (100%)"),
        "{}",
        text(&done.stderr)
    );
    assert_eq!(count(&app), 2);
    let batches = admin.get("/api/v1/imports");
    assert_eq!(batches.body["items"][0]["created"], 2, "{}", batches.text);

    let out = dir.path().join("a.csv");
    let exported = cli(&[
        "export",
        "customers",
        "--as",
        "admin",
        "--format",
        "csv",
        "--out",
        out.to_str().unwrap(),
        "--query",
        "filter[level]=A",
    ]);
    assert!(exported.status.success(), "{}", text(&exported.stderr));
    let csv = std::fs::read_to_string(&out).unwrap();
    assert!(
        csv.contains("苏州工业园科技") && !csv.contains("Acme"),
        "{csv}"
    );
    assert!(text(&exported.stdout).contains("1 rows"));

    let viewing = create_role(&admin, "只读", &["customers"], &["view"], "own");
    create_user_with_roles(&admin, "viewer", None, &[viewing]);
    for (command, right) in [("export", "export"), ("import", "import")] {
        let mut args = vec![command, "customers"];
        if command == "import" {
            args.push(good.to_str().unwrap());
        }
        args.extend(["--as", "viewer"]);
        let refused = cli(&args);
        assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stderr));
        assert!(
            text(&refused.stderr).contains(&format!("viewer may not {right} customers")),
            "{}",
            text(&refused.stderr)
        );
    }
    assert_eq!(count(&app), 2, "the refused import added nothing");

    for (args, code) in [
        (vec!["export", "nothing", "--as", "admin"], 2),
        (vec!["export", "customers", "--as", "nobody"], 2),
        (
            vec!["export", "customers", "--as", "admin", "--format", "pdf"],
            2,
        ),
        (
            vec![
                "export",
                "customers",
                "--as",
                "admin",
                "--query",
                "filter[colour]=red",
            ],
            2,
        ),
        (
            vec!["import", "customers", "/no/such/file.csv", "--as", "admin"],
            2,
        ),
    ] {
        let output = cli(&args);
        assert_eq!(
            output.status.code(),
            Some(code),
            "{args:?}: {}",
            text(&output.stderr)
        );
        assert!(!text(&output.stderr).contains("panicked"), "{args:?}");
    }
}

/// The import's status once it is no longer running (polled for up to a minute).
fn until_ended(browser: &Browser, job: i64, mut status: Value) -> Value {
    for _ in 0..600 {
        if status["state"] != "running" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        status = browser.get(&format!("/api/v1/imports/{job}")).body;
    }
    status
}

/// A file that goes bad after its first chunks were applied leaves nothing: the chunks kept
/// so far are undone through the batch, and the report still lists the bad row.
#[test]
fn an_import_that_fails_half_way_leaves_nothing() {
    let app = spawn_app();
    let admin = app.setup_admin();
    // Level Z is no option of the picklist.
    let rows: String = std::iter::once("客户名称,级别\n".to_string())
        .chain((0..2_500).map(|i| format!("半途客户{i},{}\n", if i == 2_200 { "Z" } else { "A" })))
        .collect();
    let mapping = json!({"客户名称": "name", "级别": "level"});
    let answer = import(
        &admin,
        "customers",
        false,
        form("half.csv", rows.clone().into(), mapping.clone()),
    );
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["state"], "failed", "{}", answer.text);
    assert_eq!(answer.body["error_count"], 1);
    assert_eq!(answer.body["errors"][0]["row"], 2_202);
    assert_eq!(answer.body["batch_id"], Value::Null);
    assert_eq!(count(&app), 0, "the applied chunks were undone");
    let job = answer.body["id"].as_i64().unwrap();
    let status = admin.get(&format!("/api/v1/imports/{job}"));
    assert_eq!(status.body["state"], "failed", "{}", status.text);
    assert_eq!(status.body["processed"], 2_500);
    assert_eq!(
        admin.delete(&format!("/api/v1/imports/{job}")).error_code(),
        "import_not_kept"
    );
    assert_eq!(
        admin
            .post(&format!("/api/v1/imports/{job}/cancel"), json!({}))
            .error_code(),
        "import_finished"
    );

    // A chunk stops at its first bad row and runs again a row at a time, so that a check still
    // lists every bad row: two next to each other in the first chunk, one in a later chunk.
    let three_bad: String = std::iter::once("客户名称,级别\n".to_string())
        .chain((0..2_500).map(|i| {
            format!(
                "半途客户{i},{}\n",
                if [5, 6, 2_200].contains(&i) { "Z" } else { "A" }
            )
        }))
        .collect();
    let checked = import(
        &admin,
        "customers",
        true,
        form("three.csv", three_bad.into(), mapping.clone()),
    );
    assert_eq!(checked.body["error_count"], 3, "{}", checked.text);
    let rows_named: Vec<&Value> = checked.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["row"])
        .collect();
    assert_eq!(rows_named, [&json!(7), &json!(8), &json!(2_202)]);
    assert_eq!(checked.body["would_create"], 2_497);

    // Without waiting: 202 with the job, whose progress is then followed to its end.
    let good: String = rows.replace(",Z\n", ",A\n");
    let started = admin.upload(
        "/api/v1/customers/import?wait=false",
        form("good.csv", good.into(), mapping),
    );
    assert_eq!(started.status, 202, "{}", started.text);
    let job = started.body["id"].as_i64().unwrap();
    let status = until_ended(&admin, job, started.body.clone());
    assert_eq!(status["state"], "done", "{status}");
    assert_eq!(status["created"], 2_500);
    assert_eq!(status["batch_id"], job);
    assert_eq!(count(&app), 2_500);
    assert_eq!(
        admin.get("/api/v1/imports?running=true").body["items"],
        json!([])
    );
    let undone = admin.delete(&format!("/api/v1/imports/{job}"));
    assert_eq!(undone.body["deleted"], 2_500, "{}", undone.text);
    assert_eq!(count(&app), 0);
}

/// A cancel stops a running import after its current chunk and undoes what it applied.
#[test]
fn a_cancelled_import_leaves_nothing() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let rows: String = std::iter::once("客户名称\n".to_string())
        .chain((0..20_000).map(|i| format!("取消客户{i}\n")))
        .collect();
    let started = admin.upload(
        "/api/v1/customers/import?wait=false",
        form("many.csv", rows.into(), json!({"客户名称": "name"})),
    );
    assert_eq!(started.status, 202, "{}", started.text);
    let job = started.body["id"].as_i64().unwrap();
    let running = admin.get("/api/v1/imports?running=true").body;
    assert_eq!(running["items"][0]["id"], job, "{running}");
    let asked = admin.post(&format!("/api/v1/imports/{job}/cancel"), json!({}));
    assert_eq!(asked.status, 202, "{}", asked.text);
    assert_eq!(asked.body["cancel_requested"], true);
    let status = until_ended(&admin, job, asked.body.clone());
    assert_eq!(status["state"], "cancelled", "{status}");
    assert_eq!(status["created"], 0);
    assert_eq!(count(&app), 0);
}

/// An import a stop interrupted (left `running` with applied records) is undone when the
/// server starts again.
#[test]
fn an_import_a_stop_interrupted_is_undone_at_the_next_start() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let done = import(
        &admin,
        "customers",
        false,
        form("a.csv", GOOD.into(), mapping()),
    );
    assert_eq!(done.body["state"], "done", "{}", done.text);
    let job = done.body["id"].as_i64().unwrap();
    // What a killed run leaves: the batch still running, its records applied.
    app.sql()
        .execute(
            "UPDATE import_batches SET state = 'running', finished_at = NULL WHERE id = ?1",
            [job],
        )
        .unwrap();
    assert_eq!(count(&app), 2);
    let config = app.config.clone();
    let app = start(app.stop(), config).expect("restarts");
    let mut state = String::new();
    for _ in 0..100 {
        state = app
            .sql()
            .query_row(
                "SELECT state FROM import_batches WHERE id = ?1",
                [job],
                |r| r.get(0),
            )
            .unwrap();
        if state != "running" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(state, "failed");
    assert_eq!(count(&app), 0);
}

/// A contacts file names each contact's customer as other systems export it, by name: the
/// contact is linked to the one customer of that name the importer may see; a name nobody
/// visible has, or two customers share, is that row's error.
#[test]
fn a_contacts_file_links_to_customers_by_name() {
    let app = spawn_app();
    let admin = app.setup_admin();
    for (name, copies) in [("甲方科技", 1), ("乙方贸易", 1), ("同名公司", 2)] {
        for _ in 0..copies {
            let made = admin.post(
                "/api/v1/customers",
                json!({ "name": name, "confirm_duplicate": true }),
            );
            assert_eq!(made.status, 201, "{}", made.text);
        }
    }
    let role = create_role(
        &admin,
        "导入员",
        &["customers", "contacts"],
        &["view", "create", "edit", "import"],
        "own",
    );
    create_user_with_roles(&admin, "rep", None, &[role]);
    let rep = app.signed_in("rep");
    let mine = rep.post("/api/v1/customers", json!({ "name": "丙方自有" }));
    assert_eq!(mine.status, 201, "{}", mine.text);
    let mapping = json!({"姓名": "name", "所属客户": "customer_id"});

    let file = "姓名,所属客户\n张三,甲方科技\n李四,乙方贸易\n王五,#1\n";
    let answer = import(
        &admin,
        "contacts",
        false,
        form("contacts.csv", file.into(), mapping.clone()),
    );
    assert_eq!(answer.body["created"], 3, "{}", answer.text);
    let linked: Vec<(String, String)> = app
        .sql()
        .prepare("SELECT p.name, c.name FROM contacts p JOIN customers c ON c.id = p.customer_id ORDER BY p.id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let expected = [
        ("张三", "甲方科技"),
        ("李四", "乙方贸易"),
        ("王五", "甲方科技"),
    ]
    .map(|(a, b)| (a.to_string(), b.to_string()));
    assert_eq!(linked, expected);

    let bad = "姓名,所属客户\n赵六,同名公司\n钱七,不存在公司\n孙八,丙方自有\n";
    let refused = import(
        &admin,
        "contacts",
        true,
        form("bad.csv", bad.into(), mapping.clone()),
    );
    let codes: Vec<(&Value, &Value)> = refused.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (&e["row"], &e["code"]))
        .collect();
    assert_eq!(
        codes,
        [
            (&json!(2), &json!("name_shared")),
            (&json!(3), &json!("unknown_name"))
        ],
        "{}",
        refused.text
    );
    assert!(
        refused.body["errors"][1]["message"]
            .as_str()
            .unwrap()
            .contains("不存在公司"),
        "{}",
        refused.text
    );

    // The rep sees only their own customer: the others' names are unknown to them.
    let theirs = import(
        &rep,
        "contacts",
        true,
        form(
            "rep.csv",
            "姓名,所属客户\n周九,甲方科技\n吴十,丙方自有\n".into(),
            mapping,
        ),
    );
    assert_eq!(theirs.body["error_count"], 1, "{}", theirs.text);
    assert_eq!(theirs.body["errors"][0]["code"], "unknown_name");
    assert_eq!(theirs.body["would_create"], 1);
}
