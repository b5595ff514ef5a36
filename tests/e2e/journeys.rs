//! The journeys of issue #7, each written once and run in both languages on both screens.
//! Buttons are found by their translated text, so a missing translation fails a journey.

use crate::smtp::Smtp;
use crate::Run;
use serde_json::json;

const ADMIN_PASSWORD: &str = "admin-pass-2026";
const REP_PASSWORD: &str = "rep-pass-2026";
const COMPANY: &str = "星河示例科技";
const ADMIN_NAME: &str = "王经理";
const DEPARTMENT: &str = "华东销售部";
const ROLE: &str = "销售代表";
const REP_NAME: &str = "李销售";
const CUSTOMER: &str = "杭州星河贸易有限公司";
const CONTACT: &str = "张三";
const FOLLOWUP: &str = "上门拜访，讨论年度合同";
const TASK: &str = "准备年度合同报价";
const MARKUP: &str = "<img src=x onerror=alert(1)>";

fn submit_dialog(run: &Run) {
    let button = run.browser.wait("dialog[open] button[type=submit]");
    run.browser.click(&button);
}

fn wait_dialog_closed(run: &Run) {
    run.browser.wait_until("the dialog to close", || {
        run.browser.all("dialog[open]").is_empty().then_some(())
    });
}

fn wait_for_text(run: &Run, text: &str) {
    run.browser
        .wait_until(&format!("the page to show {text:?}"), || {
            run.browser.page_text().contains(text).then_some(())
        });
}

fn sign_in(run: &Run, username: &str, password: &str) {
    let b = &run.browser;
    b.goto(&run.url("/login"));
    b.fill("form", "username", username);
    b.fill("form", "password", password);
    b.click(&b.wait("form button[type=submit]"));
}

fn sign_out(run: &Run) {
    let b = &run.browser;
    b.click(&b.wait(".user-button"));
    b.click_text(&run.t("shell.sign_out"));
    b.wait("form [name=password]");
}

/// Journey 1: First visit → setup page → company and admin created → signed in → shell.
pub fn first_visit_sets_up_the_company(run: &mut Run) {
    // The avatar shows the name's first character.
    run.user_data
        .extend([COMPANY, ADMIN_NAME, "admin", "王"].map(String::from));
    let b = &run.browser;
    b.goto(&run.server.url);
    b.wait("form [name=company]");
    run.check_page("setup");
    b.fill("form", "company", COMPANY);
    b.fill("form", "username", "admin");
    b.fill("form", "display_name", ADMIN_NAME);
    b.fill("form", "password", ADMIN_PASSWORD);
    b.fill("form", "confirm", ADMIN_PASSWORD);
    b.choose("form", "language", run.texts.lang);
    b.click(&b.wait("form button[type=submit]"));
    b.wait(".global-search");
    wait_for_text(run, &run.t("nav.home"));
    run.check_page("home");
}

/// Journey 2: Admin creates a department, a role with scope "own" and a user; signs out;
/// the user signs in.
pub fn admin_creates_a_team_and_a_user(run: &mut Run) {
    run.user_data
        .extend([DEPARTMENT, ROLE, REP_NAME, "rep1", "李"].map(String::from));
    let b = &run.browser;
    b.goto(&run.url("/settings/departments"));
    b.click_text(&run.t("departments.new"));
    b.fill("dialog[open]", "name", DEPARTMENT);
    submit_dialog(run);
    wait_dialog_closed(run);
    wait_for_text(run, DEPARTMENT);
    run.check_page("departments");

    b.goto(&run.url("/settings/roles"));
    b.click_text(&run.t("roles.new"));
    b.type_into(&b.wait("#role-name"), ROLE);
    for module in ["customers", "contacts", "followups"] {
        for action in ["view", "create", "edit"] {
            let label = format!(
                "{}: {}",
                run.t(&format!("entity.{module}")),
                run.t(&format!("roles.action.{action}"))
            );
            let selector = format!("dialog[open] input[aria-label=\"{label}\"]");
            let box_ = b.wait(&selector);
            b.click(&box_);
        }
    }
    submit_dialog(run);
    wait_dialog_closed(run);
    wait_for_text(run, ROLE);
    run.check_page("roles");

    b.goto(&run.url("/settings/users"));
    b.click_text(&run.t("users.new"));
    b.fill("dialog[open]", "username", "rep1");
    b.fill("dialog[open]", "display_name", REP_NAME);
    b.fill("dialog[open]", "password", REP_PASSWORD);
    b.choose_text("dialog[open]", "department_id", DEPARTMENT);
    let role = b.wait_text("dialog[open] label.check", ROLE);
    b.click(&role);
    submit_dialog(run);
    wait_dialog_closed(run);
    wait_for_text(run, REP_NAME);
    run.check_page("users");

    sign_out(run);
    run.check_page("signed out");
    sign_in(run, "rep1", REP_PASSWORD);
    b.wait(".global-search");
    wait_for_text(run, REP_NAME);
    run.check_page("rep's home");
    run.shoot("shell");
}

/// Creates a customer from the list's "new" button; ends on its 360 page.
fn create_customer(run: &Run, name: &str) {
    let b = &run.browser;
    b.goto(&run.url("/customers"));
    b.click(&b.wait(".page-header .btn-primary"));
    b.fill("dialog[open]", "name", name);
    submit_dialog(run);
    wait_dialog_closed(run);
    b.wait_text(".record-header h1", name);
}

/// The header's search box, then the result named `name`.
fn search_from_header(run: &Run, query: &str, name: &str) {
    let b = &run.browser;
    let input = b.wait(".global-search input[name=q]");
    b.type_into(&input, &format!("{query}\u{E007}"));
    b.wait_until("the search page", || {
        b.current_url().contains("#/search").then_some(())
    });
    b.wait_text("a", name);
}

/// Journey 3: The rep creates a customer with a contact, adds a follow-up with a next time,
/// finds the customer by a two-character search from the header, sees the follow-up on the
/// 360 page's timeline; a stale edit from another tab shows the conflict message.
pub fn a_rep_works_a_customer(run: &mut Run) {
    run.user_data
        .extend([CUSTOMER, CONTACT, FOLLOWUP, "杭州", "上海", "星河"].map(String::from));
    let b = &run.browser;
    create_customer(run, CUSTOMER);
    run.check_page("new customer's 360 page");
    let page = b.current_url();

    let add = |entity: &str| {
        let label = run.texts.t(
            "records.add",
            &[("entity", &run.t(&format!("entity_one.{entity}")))],
        );
        b.click_text(&label);
    };
    add("contacts");
    b.fill("dialog[open]", "name", CONTACT);
    submit_dialog(run);
    wait_dialog_closed(run);
    wait_for_text(run, CONTACT);

    add("followups");
    b.choose("dialog[open]", "method", "visit");
    b.fill("dialog[open]", "content", FOLLOWUP);
    let next = b.wait("dialog[open] input[name=next_at]");
    b.set_value(&next, "2030-06-01T10:00");
    submit_dialog(run);
    wait_dialog_closed(run);
    wait_for_text(run, FOLLOWUP);
    run.check_page("360 page with a follow-up");
    run.shoot("customer-360");

    search_from_header(run, "星河", CUSTOMER);
    run.check_page("search results");
    let result = b.wait_text("a", CUSTOMER);
    b.click(&result);
    b.wait_text(".record-header h1", CUSTOMER);
    wait_for_text(run, FOLLOWUP);

    let first = b.window();
    let second = b.new_tab();
    b.switch_to(&second);
    b.goto(&page);
    b.wait_text(".record-header h1", CUSTOMER);
    b.click_text(&run.t("common.edit"));
    b.fill("dialog[open]", "region", "杭州");
    submit_dialog(run);
    wait_dialog_closed(run);
    b.switch_to(&first);
    b.goto(&page);
    b.wait_text(".record-header h1", CUSTOMER);
    b.switch_to(&second);
    b.click_text(&run.t("common.edit"));
    b.fill("dialog[open]", "region", "杭州西湖");
    submit_dialog(run);
    wait_dialog_closed(run);
    b.switch_to(&first);
    b.click_text(&run.t("common.edit"));
    b.fill("dialog[open]", "region", "上海");
    submit_dialog(run);
    b.wait_text("dialog[open] .banner-error", &run.t("records.conflict"));
    run.check_page_allowing("edit conflict", &["409"]);
    b.click(&b.wait("dialog[open] .dialog-head button"));
}

/// Journey 4: A customer named like markup shows as that literal text in the list, on its
/// page and in search; no dialog opens; no console error.
pub fn user_text_is_never_markup(run: &mut Run) {
    run.user_data.push(MARKUP.into());
    let b = &run.browser;
    create_customer(run, MARKUP);
    run.check_page("markup customer's page");
    b.goto(&run.url("/customers"));
    b.wait_text(".record-link", MARKUP);
    run.check_page("list with markup");
    run.shoot("customer-list");
    search_from_header(run, "onerror", MARKUP);
    run.check_page("search for markup");
    let images = b.execute(
        "return document.querySelectorAll('img[src=x]').length;",
        json!([]),
    );
    assert_eq!(images, json!(0), "the name became an element");
}

const COMMENT: &str = "请审核报价";
const REPLY: &str = "报价已批，可以发给客户";
const NOTICE: &str = "五一放假安排";

/// Journey 7: the rep mentions the manager in a comment on the customer through the mention
/// picker; the manager (signed in elsewhere) answers mentioning the rep, and the rep's bell
/// counts it live, without a reload; the notification opens the customer.
pub fn colleagues_talk_on_a_record(run: &mut Run) {
    run.user_data
        .extend([COMMENT, REPLY, NOTICE, ADMIN_NAME, "王", "西湖"].map(String::from));
    let b = &run.browser;
    b.goto(&run.url("/customers"));
    b.click(&b.wait_text(".record-link", CUSTOMER));
    b.wait_text(".record-header h1", CUSTOMER);
    let customer: i64 = b
        .current_url()
        .rsplit('/')
        .next()
        .and_then(|id| id.parse().ok())
        .expect("the record's id in the address");
    let box_ = b.wait("#comments textarea");
    b.type_into(&box_, "@王");
    b.wait_text(".mention-picker li[role=option]", ADMIN_NAME);
    b.keys(&box_, "\u{E007}");
    b.keys(&box_, COMMENT);
    b.click(&b.wait("#comments button[type=submit]"));
    b.wait_text(".comment .mention", &format!("@{ADMIN_NAME}"));
    b.wait_text(".comment-body", COMMENT);
    run.check_page("a comment with a mention");

    let rep = rep_id(run);
    manager_says(
        run,
        &format!("/customers/{customer}/comments"),
        json!({ "body": format!("@{REP_NAME} {REPLY}"), "mentions": [rep] }),
    );
    b.wait_text(".comment-body", REPLY);
    let count = b.wait_text(".bell-count", "1");
    assert!(b.displayed(&count), "the bell shows the unread count");
    b.click(&b.wait(".bell"));
    let notice = b.wait_text(".bell-panel .notice-unread", REPLY);
    run.check_page("the bell's panel");
    run.shoot("notifications");
    b.click(&notice);
    b.wait_text(".record-header h1", CUSTOMER);
    b.goto(&run.url("/notifications"));
    b.wait_text(".notices-page .notice", REPLY);
    assert!(
        b.all(".notices-page .notice-unread").is_empty(),
        "opened means read"
    );
    run.check_page("notifications page");
}

/// The administrator, in a browser of their own (the API, as the UI calls it), posts `body` to
/// `path`; `{rep}` in the body's text is not needed, the rep's id is looked up here.
fn manager_says(run: &Run, path: &str, body: serde_json::Value) {
    api_as(run, ("admin", ADMIN_PASSWORD), "POST", path, body);
}

/// `method path body` through the API as the user `(username, password)`, signed in with a
/// client of their own; the answer must succeed. Answers its JSON.
fn api_as(
    run: &Run,
    (username, password): (&str, &str),
    method: &str,
    path: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let client = reqwest::blocking::Client::builder()
        .cookie_store(true)
        .build()
        .expect("a client");
    let url = |path: &str| format!("{}/api/v1{path}", run.server.url);
    let login: serde_json::Value = client
        .post(url("/auth/login"))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .and_then(|r| r.json())
        .expect("the user signs in");
    let csrf = login["csrf_token"]
        .as_str()
        .expect("a CSRF token")
        .to_string();
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
    let answer = client
        .request(method, url(path))
        .header("X-CSRF-Token", csrf)
        .json(&body)
        .send()
        .expect("the request is sent");
    assert!(
        answer.status().is_success(),
        "{path}: {:?}",
        answer.status()
    );
    answer.json().unwrap_or_default()
}

/// The rep's id, from the colleagues' directory as the rep sees it.
fn rep_id(run: &Run) -> i64 {
    let found = run.browser.execute(
        "return fetch('/api/v1/directory?q=rep1').then((r) => r.json());",
        json!([]),
    );
    found["items"][0]["id"]
        .as_i64()
        .expect("the rep is a colleague")
}

/// Journey 5: A wrong password shows the translated message; throttling shows the wait time.
pub fn sign_in_errors_are_explained(run: &mut Run) {
    let b = &run.browser;
    sign_out(run);
    let wrong = run.t("error.invalid_credentials");
    for _ in 0..5 {
        sign_in(run, "intruder", "not-the-password");
        b.wait_text(".banner-error", &wrong);
    }
    sign_in(run, "intruder", "not-the-password");
    let throttled = run.texts.prefix("error.too_many_attempts");
    let banner = b.wait_text(".banner-error", &throttled);
    assert!(
        b.text(&banner).chars().any(|c| c.is_ascii_digit()),
        "the wait time is shown: {}",
        b.text(&banner)
    );
    run.check_page_allowing("throttled sign-in", &["401", "429"]);
}

const LEAD: &str = "陈伟";
const LEAD_COMPANY: &str = "宁波海天塑机有限公司";
const CONTRACT: &str = "注塑机联网改造合同";

/// Opens the list of `entity`, then its "new" form.
fn open_new_form(run: &Run, entity: &str) {
    let b = &run.browser;
    b.goto(&run.url(&format!("/{entity}")));
    b.click(&b.wait(".page-header .btn-primary"));
    b.wait("dialog[open] form");
}

/// Journey 6: the sales manager's week: a lead comes in and is converted into a customer,
/// contact and opportunity; the deal moves across the board; a contract is signed with a
/// payment plan and a payment; the funnel, forecast and targets show it.
pub fn a_sales_manager_runs_the_pipeline(run: &mut Run) {
    run.user_data.extend(
        [
            LEAD,
            LEAD_COMPANY,
            CONTRACT,
            TASK,
            ADMIN_NAME,
            "admin",
            "王",
            "HT-",
        ]
        .map(String::from),
    );
    let b = &run.browser;
    sign_out(run);
    sign_in(run, "admin", ADMIN_PASSWORD);
    b.wait(".global-search");

    open_new_form(run, "leads");
    b.fill("dialog[open]", "name", LEAD);
    b.fill("dialog[open]", "company", LEAD_COMPANY);
    b.choose("dialog[open]", "source", "exhibition");
    submit_dialog(run);
    wait_dialog_closed(run);
    b.wait_text(".record-header h1", LEAD);
    run.check_page("new lead");

    b.click_text(&run.t("leads.convert"));
    b.fill("dialog[open]", "amount", "120000");
    submit_dialog(run);
    b.wait_text(".record-header h1", LEAD_COMPANY);
    wait_for_text(run, LEAD);
    run.check_page("customer made from the lead");

    // The leads are dealt round-robin to the sales department (its only member is the rep).
    b.goto(&run.url("/leads"));
    b.wait_text(".list-results", LEAD);
    b.click(&b.wait(".list-results td input[type=checkbox]"));
    b.click_text(&run.t("leads.round_robin"));
    b.wait_until("the department choices", || {
        b.all("dialog[open] select[name=department_id] option")
            .iter()
            .any(|o| b.text(o).contains(DEPARTMENT))
            .then_some(())
    });
    b.choose_text("dialog[open]", "department_id", DEPARTMENT);
    submit_dialog(run);
    wait_dialog_closed(run);
    b.wait_text(".list-results tbody", REP_NAME);
    run.check_page("leads dealt round-robin");

    // A task for the rep: in "tasks I assigned", not in "my tasks".
    open_new_form(run, "tasks");
    b.fill("dialog[open]", "title", TASK);
    b.choose_text("dialog[open]", "assignee_id", REP_NAME);
    submit_dialog(run);
    wait_dialog_closed(run);
    b.goto(&run.url("/tasks"));
    b.wait_text(".list-results", TASK);
    b.choose(".toolbar", "mine", "owner");
    b.wait(".list-results .state-empty");
    b.choose(".toolbar", "mine", "created");
    b.wait_text(".list-results tbody", TASK);
    run.check_page("tasks I assigned");

    b.goto(&run.url("/opportunities/board"));
    b.wait_text(".board-card", LEAD_COMPANY);
    run.check_page("board");
    b.wait(".board-card select");
    // The keyboard and phone way to move a card: its stage select.
    b.execute(
        "const s = document.querySelector('.board-card select'); \
         s.value = s.options[2].value; s.dispatchEvent(new Event('change'));",
        json!([]),
    );
    b.wait_until("the card to reach the third column", || {
        let columns = b.all(".board-column");
        let third = columns.get(2)?;
        b.text(third).contains(LEAD_COMPANY).then_some(())
    });
    run.shoot("board");

    open_new_form(run, "contracts");
    b.fill("dialog[open]", "name", CONTRACT);
    b.choose_text("dialog[open]", "customer_id", LEAD_COMPANY);
    b.fill("dialog[open]", "amount", "100000");
    submit_dialog(run);
    wait_dialog_closed(run);
    b.wait_text(".record-header h1", CONTRACT);
    wait_for_text(run, "HT-");

    // The related list's own button ("add payment" is a prefix of "add payment plan" in Chinese).
    let add = |entity: &str| {
        b.click(&b.wait(&format!("#related-{entity} .card-head button")));
        b.wait("dialog[open] form");
    };
    add("payment_plans");
    b.fill("dialog[open]", "instalment", "1");
    b.set_value(&b.wait("dialog[open] input[name=due_date]"), "2030-01-31");
    b.fill("dialog[open]", "amount", "60000");
    submit_dialog(run);
    wait_dialog_closed(run);
    add("payments");
    b.fill("dialog[open]", "amount", "60000");
    b.set_value(
        &b.wait("dialog[open] input[name=received_at]"),
        "2030-01-20",
    );
    submit_dialog(run);
    wait_dialog_closed(run);
    // Past the contract amount: refused, then recorded when the rep says so.
    add("payments");
    b.fill("dialog[open]", "amount", "50000");
    b.set_value(
        &b.wait("dialog[open] input[name=received_at]"),
        "2030-02-20",
    );
    submit_dialog(run);
    b.click(&b.wait_text(
        "dialog[open] .conflict-actions button",
        &run.t("records.save_anyway"),
    ));
    wait_dialog_closed(run);
    b.goto(&b.current_url());
    b.wait_text(".record-header", CONTRACT);
    run.check_page_allowing("contract with a payment", &["422"]);
    run.shoot("contract");

    // The customer's page: the payments of its contracts, and its files.
    b.click(&b.wait_text("a[href^='#/customers/']", LEAD_COMPANY));
    b.wait_text(".record-header h1", LEAD_COMPANY);
    b.wait_text("#related-payments", "50,000");
    b.wait_text("#related-payment_plans", "60,000");
    b.wait_text(".card-title", &run.t("attachments.title"));
    run.check_page("customer with its contracts' money");

    b.goto(&run.url("/sales"));
    b.wait(".funnel");
    run.check_page("funnel and forecast");
    run.shoot("funnel");
    b.goto(&run.url("/targets"));
    b.wait(".page-header h1");
    run.check_page("targets");
    b.goto(&run.url("/"));
    wait_for_text(run, &run.t("home.my_pipeline"));
    run.check_page("home with the pipeline");
}

const BIG_CONTRACT: &str = "智能仓储三期合同";
const FINANCE: (&str, &str) = ("finance1", "finance-pass-2026");
const FINANCE_NAME: &str = "赵财务";

/// Journey 8: the administrator (the rep's department head) has a two-step flow for contracts
/// above 100,000; the rep submits one, which locks it; the manager approves it in one tap from
/// "My approvals" (on the phone run, a phone's screen); finance approves the second step; the
/// contract is active.
pub fn a_rep_submits_and_a_manager_approves(run: &mut Run) {
    run.user_data.extend(
        [
            BIG_CONTRACT,
            CUSTOMER,
            FINANCE_NAME,
            REP_NAME,
            ADMIN_NAME,
            "王",
            "李",
            "HT-",
        ]
        .map(String::from),
    );
    let admin = ("admin", ADMIN_PASSWORD);
    let me = api_as(run, admin, "GET", "/auth/me", json!(null));
    let departments = api_as(run, admin, "GET", "/departments", json!(null));
    let sales = departments["items"]
        .as_array()
        .and_then(|all| all.iter().find(|d| d["name"] == DEPARTMENT))
        .expect("the sales department")
        .clone();
    api_as(
        run,
        admin,
        "PATCH",
        &format!("/departments/{}", sales["id"]),
        json!({ "head_id": me["id"], "version": sales["version"] }),
    );
    let roles = api_as(run, admin, "GET", "/roles", json!(null));
    let role = roles["items"]
        .as_array()
        .and_then(|all| all.iter().find(|r| r["name"] == ROLE))
        .expect("the rep's role")
        .clone();
    let mut permissions = role["permissions"].clone();
    permissions["contracts"] = json!({ "actions": ["view", "create", "edit"], "scope": "own" });
    api_as(
        run,
        admin,
        "PATCH",
        &format!("/roles/{}", role["id"]),
        json!({ "permissions": permissions, "version": role["version"] }),
    );
    let finance = api_as(
        run,
        admin,
        "POST",
        "/users",
        json!({ "username": FINANCE.0, "password": FINANCE.1, "display_name": FINANCE_NAME, "role_ids": [1] }),
    );
    let flow = api_as(run, admin, "GET", "/approval-flows/contracts", json!(null));
    api_as(
        run,
        admin,
        "PUT",
        "/approval-flows/contracts",
        json!({ "version": flow["version"], "steps": [
            { "name": "主管审批", "approver": { "kind": "head", "levels": 1 } },
            { "name": "财务审批", "approver": { "kind": "users", "user_ids": [finance["id"]] },
              "condition": { "field": "amount", "op": "gt", "value": 10_000_000 } },
        ] }),
    );
    run.user_data
        .extend(["主管审批", "财务审批"].map(String::from));
    let smtp = Smtp::start();
    set_up_mail(run, &smtp);
    api_as(
        run,
        FINANCE,
        "PATCH",
        "/auth/me",
        json!({ "email": FINANCE_EMAIL, "email_kinds": ["approval_waiting"] }),
    );

    let b = &run.browser;
    sign_out(run);
    sign_in(run, "rep1", REP_PASSWORD);
    b.wait(".global-search");
    open_new_form(run, "contracts");
    b.fill("dialog[open]", "name", BIG_CONTRACT);
    b.choose_text("dialog[open]", "customer_id", CUSTOMER);
    b.fill("dialog[open]", "amount", "150000");
    submit_dialog(run);
    wait_dialog_closed(run);
    b.wait_text(".record-header h1", BIG_CONTRACT);
    b.click(&b.wait_text("#approval button", &run.t("approvals.submit")));
    submit_dialog(run);
    wait_dialog_closed(run);
    b.wait_text(".record-header .badges", &run.t("approvals.locked"));
    b.wait_text("#approval .approval-step", "主管审批");
    assert!(
        b.all(".record-header .header-actions button")
            .iter()
            .all(|button| b.text(button) != run.t("common.edit")),
        "a record under approval offers no edit"
    );
    run.check_page("a contract in approval");
    run.shoot("approval-submitted");

    sign_out(run);
    sign_in(run, "admin", ADMIN_PASSWORD);
    // The menu's count (on a phone the menu is folded away, so read it rather than see it).
    b.wait_until("the menu to count one approval", || {
        let count = b.execute(
            "return document.querySelector('.nav-count')?.textContent;",
            json!([]),
        );
        (count == "1").then_some(())
    });
    b.wait_text("[data-inbox=approvals_waiting]", BIG_CONTRACT);
    smtp.wait_for(&[ADMIN_EMAIL, BIG_CONTRACT]);
    b.goto(&run.url("/inbox"));
    b.wait_text("[data-inbox=approvals_waiting]", BIG_CONTRACT);
    run.check_page("the to-do list");
    b.goto(&run.url("/approvals"));
    let item = b.wait_text(".approval-item", BIG_CONTRACT);
    assert!(
        b.text(&item).contains(REP_NAME),
        "the item names its submitter"
    );
    run.check_page("my approvals");
    run.shoot("my-approvals");
    b.click(&b.wait_text(".approval-item button", &run.t("approvals.approve")));
    b.wait(".state-empty");
    run.check_page("nothing left to approve");
    smtp.wait_for(&[FINANCE_EMAIL, BIG_CONTRACT]);
    api_as(run, FINANCE, "GET", "/approvals?box=waiting", json!(null))["items"][0]["id"]
        .as_i64()
        .map(|id| {
            api_as(
                run,
                FINANCE,
                "POST",
                &format!("/approvals/{id}/approve"),
                json!({}),
            )
        })
        .expect("the second step waits for finance");
    b.goto(&run.url("/approvals?box=done"));
    b.click(&b.wait_text(".approval-item a.approval-title", BIG_CONTRACT));
    b.wait_text(
        "#approval .approval-head",
        &run.t("approvals.status.approved"),
    );
    run.check_page("an approved contract");

    b.goto(&run.url("/settings/approvals"));
    let flow = b.wait_text("[data-flow=contracts]", "财务审批");
    assert!(
        b.text(&flow).contains(FINANCE_NAME),
        "the summary names the approver"
    );
    b.click(&b.wait_text("[data-flow=contracts] button", &run.t("common.edit")));
    b.wait(".flow-step select");
    assert_eq!(b.all(".flow-step").len(), 2);
    run.check_page("the flow designer");
    run.shoot("flow-designer");

    b.goto(&run.url("/settings/webhooks"));
    b.click_text(&run.t("webhooks.new"));
    b.fill("dialog[open]", "name", "ERP");
    b.fill("dialog[open]", "url", "http://127.0.0.1:9/kehu");
    submit_dialog(run);
    b.wait("dialog[open] code.secret");
    run.check_page("a new webhook's secret");
    b.click(&b.wait("dialog[open] .dialog-head button"));
    wait_dialog_closed(run);
    b.wait_text(".card", "http://127.0.0.1:9/kehu");
    run.check_page("webhooks");
}

const ADMIN_EMAIL: &str = "wang@example.com";
const FINANCE_EMAIL: &str = "finance@example.com";

/// The administrator points Kehu at the company's SMTP server (the test's listener), sends a
/// test mail, and asks for approvals by email on their own preferences page.
fn set_up_mail(run: &mut Run, smtp: &Smtp) {
    run.user_data
        .extend(["127.0.0.1", "crm@example.com", ADMIN_EMAIL, FINANCE_EMAIL].map(String::from));
    let b = &run.browser;
    sign_out(run);
    sign_in(run, "admin", ADMIN_PASSWORD);
    b.wait(".global-search");
    b.goto(&run.url("/settings/mail"));
    b.fill("form", "host", "127.0.0.1");
    b.fill("form", "port", &smtp.port.to_string());
    b.choose("form", "security", "none");
    b.fill("form", "from_address", "crm@example.com");
    b.click(&b.wait("form:has([name=host]) button[type=submit]"));
    b.fill("form", "to", ADMIN_EMAIL);
    run.check_page("the mail settings");
    b.click(&b.wait("form:has([name=to]) button[type=submit]"));
    smtp.wait_for(&[ADMIN_EMAIL, &run.t("mail.test_subject")]);

    b.goto(&run.url("/me"));
    b.fill("form", "email", ADMIN_EMAIL);
    b.click(&b.wait("form:has([name=email]) input[value=approval_waiting]"));
    run.check_page("preferences with email");
    b.click(&b.wait("form:has([name=email]) button[type=submit]"));
    b.wait_until("the preferences to be saved", || {
        let me = api_as(
            run,
            ("admin", ADMIN_PASSWORD),
            "GET",
            "/auth/me",
            json!(null),
        );
        (me["email_kinds"] == json!(["approval_waiting"])).then_some(())
    });
}

const RULE: &str = "新客户提醒负责人";
const RULE_MESSAGE: &str = "新客户，今天联系";
const RULED_CUSTOMER: &str = "规则测试客户";

/// Journey 9: the administrator makes an automation rule in the designer (a new customer →
/// tell its owner), a new customer sets it off, the bell brings the rule's message, and the
/// rule's run log shows the run.
pub fn an_admin_automates_a_reminder(run: &mut Run) {
    run.user_data
        .extend([RULE, RULE_MESSAGE, RULED_CUSTOMER].map(String::from));
    let b = &run.browser;
    b.goto(&run.url("/settings/automation"));
    b.wait(".state-empty");
    run.check_page("no automation rules yet");
    b.click_text(&run.t("automation.new"));
    b.fill("dialog[open]", "name", RULE);
    b.choose("dialog[open]", "trigger", "created");
    b.choose("dialog[open]", "kind", "notify");
    b.fill("dialog[open]", "message", RULE_MESSAGE);
    run.check_page("the rule designer");
    run.shoot("rule-designer");
    submit_dialog(run);
    wait_dialog_closed(run);
    let card = b.wait_text(".card", RULE);
    assert!(
        b.text(&card).contains(RULE_MESSAGE),
        "the card says what the rule does"
    );
    let admin = ("admin", ADMIN_PASSWORD);
    let ruled = api_as(
        run,
        admin,
        "POST",
        "/customers",
        json!({ "name": RULED_CUSTOMER }),
    );
    b.click(&b.wait(".bell"));
    b.wait_text(".bell-panel", RULE_MESSAGE);
    run.check_page("the rule's notification");
    b.goto(&run.url("/settings/automation"));
    b.click(&b.wait_text(".card button", &run.t("automation.log")));
    b.wait_text("dialog[open] table", &run.t("automation.status.done"));
    run.check_page("a rule's run log");
    b.click(&b.wait("dialog[open] .dialog-head button"));
    wait_dialog_closed(run);

    // The customer deleted, found in the module's recycle bin and restored from there.
    api_as(
        run,
        admin,
        "DELETE",
        &format!("/customers/{}", ruled["id"]),
        json!(null),
    );
    b.goto(&run.url("/customers"));
    b.click(&b.wait_text(".header-actions a", &run.t("bin.open")));
    b.wait_text("table tr", RULED_CUSTOMER);
    run.check_page("the recycle bin");
    run.shoot("recycle-bin");
    b.click(&b.wait_text("table tr button", &run.t("bin.restore")));
    b.wait_until("the customer to leave the bin", || {
        let listed = b.execute(
            "return [...document.querySelectorAll('table tr')].some((tr) => tr.textContent.includes(arguments[0]));",
            json!([RULED_CUSTOMER]),
        );
        (listed == json!(false)).then_some(())
    });
    api_as(
        run,
        admin,
        "GET",
        &format!("/customers/{}", ruled["id"]),
        json!(null),
    );
    b.goto(&run.url("/customers/imports"));
    b.wait(".state-empty");
    run.check_page("the import history, empty");

    // The office forms' menu entries lead to their lists.
    for form in ["expenses", "leaves", "purchases"] {
        b.wait(&format!("a[href='#/{form}']"));
        b.goto(&run.url(&format!("/{form}")));
        b.wait_text(".page-header h1", &run.t(&format!("entity.{form}")));
    }
    run.check_page("the purchase requests");

    // The company writes dates its own way: the operation log shows them so at once.
    b.goto(&run.url("/settings/company"));
    b.wait("form [name=date_format]");
    run.check_page("the company settings");
    b.choose("form", "date_format", "YYYY/MM/DD");
    // Submitted from the form itself: the restore's toast may still cover the button.
    b.execute(
        "document.querySelector('form:has([name=date_format])').requestSubmit();",
        json!([]),
    );
    b.wait_text(".toast", &run.t("common.saved"));
    b.goto(&run.url("/settings/audit"));
    b.wait_until("a date written YYYY/MM/DD", || {
        let found = b.execute(
            "return /\\d{4}\\/\\d{2}\\/\\d{2}/.test(document.body.textContent);",
            json!([]),
        );
        (found == json!(true)).then_some(())
    });
    run.check_page("the operation log with the company's dates");
    api_as(
        run,
        admin,
        "PUT",
        "/settings/company",
        json!({ "date_format": "auto" }),
    );
}

/// Journey 10: The admin imports customers from a CSV file whose headers are in the run's
/// language: the columns are mapped from them, the check finds no problem, the import runs
/// and the list shows its rows; the import history lists the file, and undo takes them back.
pub fn an_admin_imports_customers(run: &mut Run) {
    use std::io::Write;
    let names = ["导入客户甲", "导入客户乙", "导入客户丙"];
    let mut file = tempfile::Builder::new()
        .prefix("customers-")
        .suffix(".csv")
        .tempfile()
        .expect("a CSV file");
    let header = [
        run.t("field.customers.name"),
        run.t("field.customers.phone"),
    ]
    .join(",");
    let rows: Vec<String> = (0..names.len())
        .map(|i| format!("{},1380000{i:04}", names[i]))
        .collect();
    writeln!(file, "{header}\n{}", rows.join("\n")).expect("the CSV written");
    let path = file.path().to_str().expect("a UTF-8 path").to_string();
    let file_name = file
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    run.user_data.extend(names.map(String::from));
    run.user_data.push(file_name.clone());
    let b = &run.browser;
    b.goto(&run.url("/customers"));
    b.click_text(&run.t("import.open"));
    b.keys(&b.wait("dialog[open] input[type=file]"), &path);
    wait_for_text(run, &run.texts.prefix("import.rows_found"));
    let mapped = "return [...document.querySelectorAll('dialog[open] .import select.input:not([name])')].map((s) => s.value).join(',');";
    assert_eq!(b.execute(mapped, json!([])), json!("name,phone"));
    run.check_page("the import's mapping");
    b.click_text(&run.t("import.check"));
    wait_for_text(run, &run.t("import.ready"));
    b.click(&b.wait("dialog[open] .import-result .btn-primary"));
    wait_for_text(run, &run.texts.prefix("import.done"));
    run.check_page("the import done");
    b.click(&b.wait("dialog[open] .dialog-head .icon-button"));
    wait_dialog_closed(run);
    for name in names {
        wait_for_text(run, name);
    }
    b.goto(&run.url("/customers/imports"));
    b.wait_text("td", &file_name);
    run.check_page("the import history with the file");
    b.click_text(&run.t("import.undo"));
    b.click(&b.wait("dialog[open] .btn-danger"));
    wait_for_text(run, &run.texts.prefix("imports.undone_at"));
    b.goto(&run.url("/customers"));
    b.wait(".page-header h1");
    b.wait_until("the list without the imported customers", || {
        let text = b.page_text();
        (text.contains(CUSTOMER) && !text.contains(names[0])).then_some(())
    });
}

/// Imports a fixture of another CRM's export from `tests/fixtures/moving-in` into `entity`'s
/// list: the dialog names the system it recognised, the check passes, the import runs.
fn move_in_file(run: &Run, entity: &str, file: &str) {
    let b = &run.browser;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/moving-in")
        .join(file);
    b.goto(&run.url(&format!("/{entity}")));
    b.click_text(&run.t("import.open"));
    b.keys(
        &b.wait("dialog[open] input[type=file]"),
        path.to_str().expect("a UTF-8 path"),
    );
    let recognised = run.texts.t(
        "import.recognised",
        &[("system", &run.t("import_format.wukong"))],
    );
    wait_for_text(run, &recognised);
    b.click_text(&run.t("import.check"));
    wait_for_text(run, &run.t("import.ready"));
    b.click(&b.wait("dialog[open] .import-result .btn-primary"));
    wait_for_text(run, &run.texts.prefix("import.done"));
    b.click(&b.wait("dialog[open] .dialog-head .icon-button"));
    wait_dialog_closed(run);
}

/// Journey 11: the company moves in from WukongCRM: its customer export (.xls), then its
/// contacts (.xls with a title row), are recognised and imported without mapping a column;
/// the contacts arrive linked to their customers, owned by the colleagues the files name.
pub fn a_company_moves_in_from_wukongcrm(run: &mut Run) {
    let (customer, contact) = ("杭州青山机械有限公司", "张伟");
    run.user_data.extend([customer, contact].map(String::from));
    move_in_file(run, "customers", "wukong-11-客户信息.xls");
    move_in_file(run, "contacts", "wukong-9-contacts.xls");
    let b = &run.browser;
    b.goto(&run.url("/contacts"));
    b.wait_until("the contact with its customer", || {
        let text = b.page_text();
        (text.contains(contact) && text.contains(customer)).then_some(())
    });
    run.shoot("moved-in-contacts");
    b.goto(&run.url("/customers"));
    b.wait_until("the customer owned by the rep", || {
        let text = b.page_text();
        (text.contains(customer) && text.contains(REP_NAME)).then_some(())
    });
}
