//! Moving in from another CRM: its export files (hand-written samples of each format's
//! published columns, in `tests/fixtures/moving-in`) are recognised from their headers, mapped
//! without asking, their picklist values read as ours, owners matched by name and records
//! linked across the files by name.

use crate::helpers::*;
use serde_json::{json, Value};

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/moving-in")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Previews the file (which must be recognised as `system`'s), then imports it with the
/// mapping the preview offered, untouched; answers the import's report.
fn move_in(browser: &Browser, entity: &str, file: &str, system: &str) -> Value {
    let preview = browser.upload(
        &format!("/api/v1/{entity}/import/preview"),
        file_form(file, fixture(file)),
    );
    assert_eq!(preview.status, 200, "{file}: {}", preview.text);
    assert_eq!(preview.body["format"], system, "{file}: {}", preview.text);
    let form = file_form(file, fixture(file)).text("mapping", preview.body["mapping"].to_string());
    let report = browser.upload(&format!("/api/v1/{entity}/import"), form);
    assert_eq!(report.status, 200, "{file}: {}", report.text);
    assert_eq!(report.body["error_count"], 0, "{file}: {}", report.text);
    report.body
}

fn rows(app: &TestApp, sql: &str) -> Vec<Vec<String>> {
    let conn = app.sql();
    let mut stmt = conn.prepare(sql).unwrap();
    let width = stmt.column_count();
    stmt.query_map([], |r| {
        (0..width)
            .map(|i| r.get::<_, Option<String>>(i).map(Option::unwrap_or_default))
            .collect()
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// A company leaving WukongCRM brings its customer export (11.0, .xls), its contacts (9.0,
/// .xls with a title row above the header), its opportunities and a contract (9.0 PHP, CSV):
/// every record arrives linked, owned by the colleague the file names, with our picklist values.
#[test]
fn a_wukongcrm_company_moves_in() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let made = admin.post("/api/v1/users", json!({"username": "li", "password": EMPLOYEE_PASSWORD, "display_name": "李销售", "role_ids": []}));
    assert_eq!(made.status, 201, "{}", made.text);

    let customers = move_in(&admin, "customers", "wukong-11-客户信息.xls", "wukong");
    assert_eq!(customers["created"], 3, "{customers}");
    let contacts = move_in(&admin, "contacts", "wukong-9-contacts.xls", "wukong");
    assert_eq!(contacts["created"], 3, "{contacts}");
    let deals = move_in(
        &admin,
        "opportunities",
        "wukong-php-5kcrm_business_20261201.csv",
        "wukong",
    );
    assert_eq!(deals["created"], 2, "{deals}");
    let contract = move_in(
        &admin,
        "contracts",
        "wukong-php-5kcrm_contract_20261201.csv",
        "wukong",
    );
    assert_eq!(contract["created"], 1, "{contract}");

    let expected_customers = [
        [
            "杭州青山机械有限公司",
            "A",
            "manufacturing",
            "referral",
            "0571-88886666",
            "李销售",
        ],
        [
            "宁波海润金融服务有限公司",
            "B",
            "finance",
            "advertising",
            "0574-87654321",
            "王经理",
        ],
        [
            "苏州云帆软件有限公司",
            "C",
            "it",
            "cold_call",
            "13700002222",
            "李销售",
        ],
    ];
    assert_eq!(
        rows(&app, "SELECT c.name, c.level, c.industry, c.source, c.phone, u.display_name FROM customers c JOIN users u ON u.id = c.owner_id ORDER BY c.id"),
        expected_customers.map(|r| r.map(String::from).to_vec())
    );
    let expected_contacts = [
        ["张伟", "杭州青山机械有限公司", "采购总监", "1"],
        ["刘芳", "宁波海润金融服务有限公司", "行政经理", "0"],
        ["陈杰", "苏州云帆软件有限公司", "CTO", "1"],
    ];
    assert_eq!(
        rows(&app, "SELECT p.name, c.name, p.title, CAST(p.decision_maker AS TEXT) FROM contacts p JOIN customers c ON c.id = p.customer_id ORDER BY p.id"),
        expected_contacts.map(|r| r.map(String::from).to_vec())
    );
    assert_eq!(
        rows(&app, "SELECT o.name, c.name, CAST(o.amount AS TEXT), o.expected_close FROM opportunities o JOIN customers c ON c.id = o.customer_id ORDER BY o.id"),
        [
            ["青山机械 2027 年度设备采购", "杭州青山机械有限公司", "128000000", "2027-01-31"],
            ["海润金融 OA 升级", "宁波海润金融服务有限公司", "36000000", "2027-03-15"],
        ]
        .map(|r| r.map(String::from).to_vec())
    );
    assert_eq!(
        rows(&app, "SELECT k.number, c.name, o.name, p.name, k.signed_on, k.ends_on FROM contracts k JOIN customers c ON c.id = k.customer_id
                    JOIN opportunities o ON o.id = k.opportunity_id JOIN contacts p ON p.id = k.contact_id"),
        [["HT-2026-0158", "杭州青山机械有限公司", "青山机械 2027 年度设备采购", "张伟", "2026-11-25", "2027-11-30"].map(String::from).to_vec()]
    );
}

/// The account exports of EspoCRM, SuiteCRM and Salesforce are recognised too: their columns
/// land in our fields and their industries in ours.
#[test]
fn account_exports_of_other_systems_are_recognised() {
    let app = spawn_app();
    let admin = app.setup_admin();
    move_in(&admin, "customers", "espocrm-Account.csv", "espocrm");
    move_in(&admin, "customers", "suitecrm-Accounts.csv", "suitecrm");
    move_in(&admin, "customers", "salesforce-Account.csv", "salesforce");
    assert_eq!(
        rows(&app, "SELECT name, industry, coalesce(phone, ''), coalesce(region, ''), coalesce(email, '') FROM customers ORDER BY id"),
        [
            ["Northwind Traders", "retail", "+86 21 5555 0101", "Shanghai", "info@northwind.example"],
            ["Contoso Bank", "finance", "", "Beijing", ""],
            ["Fabrikam Machinery", "manufacturing", "021-6666-0000", "Shanghai", "sales@fabrikam.example"],
            ["Tailspin Toys", "it", "0755-8888-1234", "Shenzhen", ""],
        ]
        .map(|r| r.map(String::from).to_vec())
    );
}

fn option_count(app: &TestApp, value: &str) -> i64 {
    app.sql()
        .query_row(
            "SELECT count(*) FROM picklist_options WHERE value = ?1",
            [value],
            |r| r.get(0),
        )
        .unwrap()
}

/// Another system's values that are none of ours are listed by the check; an administrator may
/// have them added as options (a check then passes and forgets them, an import keeps them, a
/// failed import takes them back); nobody else may.
#[test]
fn unknown_picklist_values_are_offered_as_new_options() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let file = "客户名称,客户级别,客户行业,客户来源,负责人\n\
                青岛远洋物流有限公司,A（重点客户）,运输/物流,促销,王经理\n\
                济南泉城地产有限公司,B（普通客户）,房地产,电话咨询,王经理\n\
                烟台海岸地产有限公司,C（非优先客户）,房地产,转介绍,王经理\n";
    let send = |who: &Browser, dry_run: bool, body: &str, add: bool| {
        let mut form = file_form("客户信息.csv", body.as_bytes().to_vec());
        if add {
            form = form.text("add_options", "true");
        }
        who.upload(&format!("/api/v1/customers/import?dry_run={dry_run}"), form)
    };
    let checked = send(&admin, true, file, false);
    assert_eq!(checked.body["error_count"], 3, "{}", checked.text);
    assert_eq!(
        checked.body["unknown_options"],
        json!([{"field": "industry", "values": ["运输/物流", "房地产"]}, {"field": "source", "values": ["促销", "电话咨询"]}])
    );

    let role = create_role(
        &admin,
        "导入员",
        &["customers"],
        &["view", "create", "import"],
        "own",
    );
    create_user_with_roles(&admin, "rep", None, &[role]);
    let refused = send(&app.signed_in("rep"), true, file, true);
    assert_eq!(
        refused.error_code(),
        "validation_failed",
        "{}",
        refused.text
    );
    assert_eq!(
        refused.body["error"]["field_codes"]["add_options"],
        "admin_only"
    );

    let passes = send(&admin, true, file, true);
    assert_eq!(passes.body["error_count"], 0, "{}", passes.text);
    assert_eq!(option_count(&app, "房地产"), 0, "a check adds nothing");

    // A failed import takes back the options its first chunks added and kept.
    let filler: String = (0..1_500)
        .map(|i| format!("填充客户{i},A（重点客户）,房地产,促销,王经理\n"))
        .collect();
    let failing = format!("{file}{filler},B（普通客户）,房地产,促销,王经理\n");
    let failed = send(&admin, false, &failing, true);
    assert_eq!(failed.body["state"], "failed", "{}", failed.text);
    assert_eq!(option_count(&app, "房地产"), 0, "{}", failed.text);

    let imported = send(&admin, false, file, true);
    assert_eq!(imported.body["created"], 3, "{}", imported.text);
    assert_eq!(imported.body["options_added"], true);
    for value in ["运输/物流", "房地产", "促销", "电话咨询"] {
        assert_eq!(option_count(&app, value), 1, "{value}");
    }
    let sources: Vec<String> = app
        .sql()
        .prepare("SELECT source FROM customers WHERE deleted_at IS NULL ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(sources, ["促销", "电话咨询", "referral"]);
}

/// Duplicates on the way in: a file that repeats customers the company has (by name, phone
/// digits or email), and one of its own rows, can leave them out; the check says how many and
/// which; asking to skip and to import them anyway at once is refused.
#[test]
fn duplicates_can_be_left_out() {
    let app = spawn_app();
    let admin = app.setup_admin();
    for body in [
        json!({"name": "已有甲公司"}),
        json!({"name": "已有乙公司", "phone": "0571-8888 1234"}),
    ] {
        assert_eq!(admin.post("/api/v1/customers", body).status, 201);
    }
    let file =
        "客户名称,电话\n已有甲公司,\n新丙公司,\n新丁公司,057188881234\n新戊公司,\n新丙公司,\n";
    let send = |dry_run: bool, parts: &[(&str, &str)]| {
        let mut form = file_form("dups.csv", file.as_bytes().to_vec()).text(
            "mapping",
            json!({"客户名称": "name", "电话": "phone"}).to_string(),
        );
        for (name, value) in parts {
            form = form.text(name.to_string(), value.to_string());
        }
        admin.upload(&format!("/api/v1/customers/import?dry_run={dry_run}"), form)
    };
    let refused = send(true, &[]);
    assert_eq!(refused.body["error_count"], 3, "{}", refused.text);

    let checked = send(true, &[("skip_duplicates", "true")]);
    assert_eq!(checked.body["error_count"], 0, "{}", checked.text);
    assert_eq!(checked.body["skipped"], 3);
    assert_eq!(checked.body["would_create"], 2);
    let rows: Vec<&Value> = checked.body["skipped_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["row"])
        .collect();
    assert_eq!(rows, [&json!(2), &json!(4), &json!(6)]);
    assert_eq!(
        checked.body["skipped_rows"][1]["duplicate_of"]["name"],
        "已有乙公司"
    );

    let imported = send(false, &[("skip_duplicates", "true")]);
    assert_eq!(imported.body["created"], 2, "{}", imported.text);
    assert_eq!(imported.body["skipped"], 3);
    let names: Vec<String> = app
        .sql()
        .prepare("SELECT name FROM customers ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(names, ["已有甲公司", "已有乙公司", "新丙公司", "新戊公司"]);

    let both = send(
        true,
        &[("skip_duplicates", "true"), ("confirm_duplicates", "true")],
    );
    assert_eq!(
        both.body["error"]["field_codes"]["skip_duplicates"], "invalid",
        "{}",
        both.text
    );
}

/// A duplicate the importer may not see is still left out, but the report does not name it.
#[test]
fn a_skipped_duplicate_outside_the_scope_is_not_named() {
    let app = spawn_app();
    let admin = app.setup_admin();
    assert_eq!(
        admin
            .post("/api/v1/customers", json!({"name": "别人的客户"}))
            .status,
        201
    );
    let role = create_role(
        &admin,
        "导入员",
        &["customers"],
        &["view", "create", "import"],
        "own",
    );
    create_user_with_roles(&admin, "rep", None, &[role]);
    let form = file_form(
        "mine.csv",
        "客户名称\n别人的客户\n我的新客户\n".as_bytes().to_vec(),
    )
    .text("mapping", json!({"客户名称": "name"}).to_string())
    .text("skip_duplicates", "true");
    let checked = app
        .signed_in("rep")
        .upload("/api/v1/customers/import?dry_run=true", form);
    assert_eq!(checked.body["skipped"], 1, "{}", checked.text);
    assert_eq!(checked.body["would_create"], 1);
    assert_eq!(
        checked.body["skipped_rows"],
        json!([{"row": 2, "duplicate_of": null}])
    );
    assert!(!checked.text.contains("别人的客户"), "{}", checked.text);
}
