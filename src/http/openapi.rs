//! `GET /api/v1/openapi.json`: an OpenAPI 3 description of the whole API. The record routes and
//! their schemas come from the entity descriptors, so every entity is described the moment it
//! is registered (`crm::registry`); the other routes are listed below (a test compares this
//! list with the routes the source registers, so it cannot fall behind).

use crate::entity::descriptor::{Entity, Kind};
use crate::entity::registry;
use actix_web::HttpResponse;
use serde_json::{json, Map, Value};

/// Routes beside the generic record API: method, path, tag, summary.
const ROUTES: &[(&str, &str, &str, &str)] = &[
    ("get", "/healthz", "system", "Liveness"),
    (
        "get",
        "/metrics",
        "system",
        "Prometheus metrics (admin, token or loopback)",
    ),
    ("get", "/api/v1/openapi.json", "system", "This document"),
    (
        "get",
        "/api/v1/setup",
        "setup",
        "Whether first-run setup is needed",
    ),
    (
        "post",
        "/api/v1/setup",
        "setup",
        "Create the company and the first administrator",
    ),
    ("post", "/api/v1/auth/login", "auth", "Sign in"),
    ("post", "/api/v1/auth/logout", "auth", "Sign out"),
    (
        "get",
        "/api/v1/auth/me",
        "auth",
        "The signed-in user, roles and permissions",
    ),
    ("patch", "/api/v1/auth/me", "auth", "Own preferences"),
    (
        "post",
        "/api/v1/auth/password",
        "auth",
        "Change own password",
    ),
    ("get", "/api/v1/auth/session", "auth", "The current session"),
    ("get", "/api/v1/tokens", "auth", "Own API tokens"),
    (
        "post",
        "/api/v1/tokens",
        "auth",
        "Create an API token (shown once)",
    ),
    (
        "delete",
        "/api/v1/tokens/{id}",
        "auth",
        "Revoke an API token",
    ),
    (
        "get",
        "/api/v1/departments",
        "organisation",
        "Department tree",
    ),
    (
        "post",
        "/api/v1/departments",
        "organisation",
        "Create a department",
    ),
    (
        "get",
        "/api/v1/departments/{id}",
        "organisation",
        "One department",
    ),
    (
        "patch",
        "/api/v1/departments/{id}",
        "organisation",
        "Rename or move a department",
    ),
    (
        "delete",
        "/api/v1/departments/{id}",
        "organisation",
        "Delete an empty department",
    ),
    ("get", "/api/v1/users", "organisation", "Users"),
    ("post", "/api/v1/users", "organisation", "Create a user"),
    ("get", "/api/v1/users/{id}", "organisation", "One user"),
    (
        "patch",
        "/api/v1/users/{id}",
        "organisation",
        "Change a user",
    ),
    (
        "post",
        "/api/v1/users/{id}/freeze",
        "organisation",
        "Freeze an account at once",
    ),
    (
        "post",
        "/api/v1/users/{id}/unfreeze",
        "organisation",
        "Unfreeze an account",
    ),
    (
        "post",
        "/api/v1/users/{id}/password",
        "organisation",
        "Reset a user's password",
    ),
    (
        "post",
        "/api/v1/users/{id}/transfer",
        "organisation",
        "Hand every owned record to another user",
    ),
    (
        "get",
        "/api/v1/directory",
        "organisation",
        "Active colleagues' names",
    ),
    ("get", "/api/v1/roles", "organisation", "Roles"),
    ("post", "/api/v1/roles", "organisation", "Create a role"),
    ("get", "/api/v1/roles/{id}", "organisation", "One role"),
    (
        "patch",
        "/api/v1/roles/{id}",
        "organisation",
        "Change a role",
    ),
    (
        "delete",
        "/api/v1/roles/{id}",
        "organisation",
        "Delete an unused role",
    ),
    (
        "get",
        "/api/v1/audit-log",
        "organisation",
        "Operation log: filter[user_id], filter[action] (or [in]), filter[entity], filter[at][gte|lte] (days)",
    ),
    (
        "get",
        "/api/v1/system/status",
        "system",
        "Version, database and backups",
    ),
    ("post", "/api/v1/system/backups", "system", "Back up now"),
    (
        "get",
        "/api/v1/system/backups/{name}",
        "system",
        "Download a backup",
    ),
    (
        "get",
        "/api/v1/meta",
        "records",
        "Entities, fields, picklists and the caller's rights",
    ),
    (
        "get",
        "/api/v1/search",
        "records",
        "Search every entity the caller may see",
    ),
    ("get", "/api/v1/views", "records", "Own saved list views"),
    ("post", "/api/v1/views", "records", "Save a list view"),
    (
        "delete",
        "/api/v1/views/{id}",
        "records",
        "Delete a saved view",
    ),
    ("get", "/api/v1/imports", "records", "Import batches"),
    (
        "get",
        "/api/v1/imports/{id}",
        "records",
        "An import's progress and report",
    ),
    (
        "post",
        "/api/v1/imports/{id}/cancel",
        "records",
        "Cancel a running import",
    ),
    (
        "delete",
        "/api/v1/imports/{id}",
        "records",
        "Undo an import batch",
    ),
    (
        "get",
        "/api/v1/settings/picklists",
        "settings",
        "Every picklist with its options",
    ),
    (
        "put",
        "/api/v1/settings/picklists/{entity}/{field}",
        "settings",
        "Replace a picklist's options",
    ),
    (
        "get",
        "/api/v1/settings/fields",
        "settings",
        "Every entity's fields with labels, order, hidden and custom flags",
    ),
    (
        "post",
        "/api/v1/settings/fields/{entity}",
        "settings",
        "Add a custom field",
    ),
    (
        "put",
        "/api/v1/settings/fields/{entity}/order",
        "settings",
        "Set the order of an entity's fields",
    ),
    (
        "patch",
        "/api/v1/settings/fields/{entity}/{field}",
        "settings",
        "Relabel, hide or show a field; a custom field's required, searchable and indexed flags",
    ),
    (
        "get",
        "/api/v1/customers/duplicates",
        "customers",
        "Customers sharing a name, phone or email",
    ),
    (
        "get",
        "/api/v1/reminders",
        "customers",
        "The 待办 inbox: follow-ups overdue / today / upcoming, approvals_waiting, tasks_due, payments_due, expiring_contracts, pool_returning, counts {now, approvals_waiting}",
    ),
    (
        "post",
        "/api/v1/customers/{id}/release",
        "customers",
        "Release a customer to the public pool",
    ),
    (
        "get",
        "/api/v1/pool/customers",
        "customers",
        "Customers in the public pool (list query)",
    ),
    (
        "post",
        "/api/v1/pool/customers/{id}/claim",
        "customers",
        "Claim a customer from the pool",
    ),
    (
        "get",
        "/api/v1/settings/pool",
        "customers",
        "Pool rules and how many the caller holds",
    ),
    (
        "put",
        "/api/v1/settings/pool",
        "settings",
        "Change the pool rules",
    ),
    (
        "post",
        "/api/v1/settings/pool/apply",
        "settings",
        "Apply the pool rules now",
    ),
    (
        "post",
        "/api/v1/leads/assign",
        "leads",
        "Round-robin within a department",
    ),
    (
        "post",
        "/api/v1/leads/{id}/convert",
        "leads",
        "Convert a lead",
    ),
    (
        "post",
        "/api/v1/leads/{id}/disqualify",
        "leads",
        "Disqualify a lead",
    ),
    (
        "get",
        "/api/v1/pipelines",
        "opportunities",
        "Pipelines and stages",
    ),
    ("post", "/api/v1/pipelines", "settings", "Create a pipeline"),
    (
        "put",
        "/api/v1/pipelines/{id}",
        "settings",
        "Change a pipeline",
    ),
    (
        "delete",
        "/api/v1/pipelines/{id}",
        "settings",
        "Delete an unused pipeline",
    ),
    (
        "get",
        "/api/v1/opportunities/board",
        "opportunities",
        "Kanban board",
    ),
    (
        "get",
        "/api/v1/opportunities/funnel",
        "opportunities",
        "Sales funnel",
    ),
    (
        "get",
        "/api/v1/opportunities/{id}/stages",
        "opportunities",
        "Stage history",
    ),
    (
        "get",
        "/api/v1/forecast",
        "opportunities",
        "Weighted forecast",
    ),
    (
        "get",
        "/api/v1/settings/contracts",
        "contracts",
        "Contract number pattern",
    ),
    (
        "put",
        "/api/v1/settings/contracts",
        "settings",
        "Change the number pattern",
    ),
    ("get", "/api/v1/targets", "targets", "Targets of a year"),
    (
        "put",
        "/api/v1/targets",
        "settings",
        "Replace the targets of a year",
    ),
    (
        "get",
        "/api/v1/targets/attainment",
        "targets",
        "Targets against actuals",
    ),
    ("get", "/api/v1/attachments/{id}", "attachments", "Download"),
    (
        "delete",
        "/api/v1/attachments/{id}",
        "attachments",
        "Remove",
    ),
    (
        "patch",
        "/api/v1/comments/{id}",
        "comments",
        "Edit own comment (body, mentions) within 15 minutes",
    ),
    (
        "delete",
        "/api/v1/comments/{id}",
        "comments",
        "Remove a comment (its author or an administrator)",
    ),
    (
        "get",
        "/api/v1/notifications",
        "notifications",
        "Own notifications, newest first (unread=true for unread only); `unread` counts them",
    ),
    (
        "get",
        "/api/v1/notifications/stream",
        "notifications",
        "Server-Sent Events: `notification` (id = notification id) and `unread` events, `signed_out` before the end of a session's stream; resumes after Last-Event-ID or ?after=",
    ),
    (
        "post",
        "/api/v1/notifications/read-all",
        "notifications",
        "Mark every own notification read",
    ),
    (
        "get",
        "/api/v1/announcements",
        "announcements",
        "Announcements received (box=received) or sent (box=sent)",
    ),
    (
        "post",
        "/api/v1/announcements",
        "announcements",
        "Send an announcement (title, body; everyone, department_ids, role_ids, user_ids)",
    ),
    (
        "get",
        "/api/v1/announcements/{id}",
        "announcements",
        "One announcement (recipients, its author, administrators)",
    ),
    (
        "post",
        "/api/v1/announcements/{id}/read",
        "announcements",
        "Mark a received announcement read",
    ),
    (
        "get",
        "/api/v1/announcements/{id}/receipts",
        "announcements",
        "Who has read it and who has not (its author, administrators)",
    ),
    (
        "post",
        "/api/v1/notifications/{id}/read",
        "notifications",
        "Mark one own notification read",
    ),
    (
        "get",
        "/api/v1/settings/company",
        "settings",
        "Company settings: name, default_language, currency, timezone, date_format",
    ),
    (
        "put",
        "/api/v1/settings/company",
        "settings",
        "Change any of name, default_language (zh-CN|en), currency, timezone (IANA), date_format (auto|YYYY-MM-DD|YYYY/MM/DD|DD/MM/YYYY|MM/DD/YYYY); in the operation log",
    ),
    (
        "get",
        "/api/v1/settings/mail",
        "settings",
        "SMTP settings (password_set, never the password) and the outgoing queue (waiting, failed, sent, last_error)",
    ),
    (
        "put",
        "/api/v1/settings/mail",
        "settings",
        "Save SMTP settings: host, port, security starttls|tls|none, username, password (absent keeps it), from_address, from_name; retries the queue",
    ),
    (
        "post",
        "/api/v1/settings/mail/test",
        "settings",
        "Send a test mail now (to); 502 mail_failed with the server's reason",
    ),
    ("get", "/api/v1/webhooks", "webhooks", "Webhooks, with their delivery counts (administrators)"),
    (
        "post",
        "/api/v1/webhooks",
        "webhooks",
        "Subscribe: name, url (http/https), entity, events (created|updated|deleted); 201 with the signing secret, shown once",
    ),
    (
        "patch",
        "/api/v1/webhooks/{id}",
        "webhooks",
        "Change name, url, entity, events, active (with version; switching on clears the failures)",
    ),
    ("delete", "/api/v1/webhooks/{id}", "webhooks", "Remove a webhook"),
    (
        "get",
        "/api/v1/webhooks/{id}/deliveries",
        "webhooks",
        "Delivery log, newest first: event, attempts, status_code, response_ms, last_error, status",
    ),
    (
        "post",
        "/api/v1/webhooks/{id}/retry",
        "webhooks",
        "Make every waiting delivery due now",
    ),
    (
        "get",
        "/api/v1/automation-rules",
        "automation",
        "Automation rules with their run counts, and depth_max, the longest chain of rules (administrators)",
    ),
    (
        "post",
        "/api/v1/automation-rules",
        "automation",
        "Make a rule: name, entity, trigger {on: created | updated (field?, to?) | date_approaches (field, days) | no_followup (days)}, conditions [{field, op, value}], actions [{kind: assign (user_id | department_id, in turn) | notify (owner, user_ids, role_id, message) | task (title, due_in_days, user_id?) | set_field (field, value) | webhook (webhook_id)}]",
    ),
    ("get", "/api/v1/automation-rules/{id}", "automation", "One rule"),
    (
        "patch",
        "/api/v1/automation-rules/{id}",
        "automation",
        "Change name, entity, trigger, conditions, actions, active, or take_over (the caller runs it from now on), with version; the design is checked again as a whole",
    ),
    ("delete", "/api/v1/automation-rules/{id}", "automation", "Remove a rule and its run log"),
    (
        "get",
        "/api/v1/automation-rules/{id}/runs",
        "automation",
        "Run log, newest first (status=done|failed|depth_limit): record, event, what each action did, the error in words",
    ),
    (
        "post",
        "/api/v1/automation-rules/{id}/run",
        "automation",
        "Check a time rule now instead of at the next pass; 409 not_timed for a rule that runs on writes",
    ),
    (
        "get",
        "/api/v1/approval-flows",
        "approvals",
        "Every entity that may have an approval flow, with its flow (steps null when none; administrators)",
    ),
    (
        "get",
        "/api/v1/approval-flows/{entity}",
        "approvals",
        "One entity's approval flow (administrators)",
    ),
    (
        "put",
        "/api/v1/approval-flows/{entity}",
        "approvals",
        "Design the flow: steps [{name?, approver: {kind: role, role_id} | {kind: head, levels} | {kind: users, user_ids}, mode: any|all, condition?: {field, op: gt|gte|lt|lte|eq|ne, value}}], version once it exists",
    ),
    (
        "delete",
        "/api/v1/approval-flows/{entity}",
        "approvals",
        "Remove a flow (409 flow_required where the status follows it)",
    ),
    (
        "get",
        "/api/v1/approvals",
        "approvals",
        "My approvals: box=waiting|done|submitted, newest first; `waiting` counts what waits for me",
    ),
    (
        "get",
        "/api/v1/approvals/{id}",
        "approvals",
        "One approval: its steps, each approver's decision, my_turn, can_withdraw",
    ),
    (
        "post",
        "/api/v1/approvals/{id}/{move}",
        "approvals",
        "Decide: move = approve {comment?} | reject {comment} | withdraw (the submitter) | transfer {user_id, comment?}",
    ),
];

/// A field's JSON schema as the API shows it.
fn schema(kind: Kind) -> Value {
    match kind {
        Kind::Text { max } => json!({ "type": "string", "maxLength": max }),
        Kind::LongText | Kind::Phone | Kind::EntityName(_) | Kind::Picklist | Kind::Currency => {
            json!({ "type": "string" })
        }
        Kind::Integer => json!({ "type": "integer" }),
        Kind::Money => json!({ "type": "integer", "description": "minor units (分/cents)" }),
        Kind::Date => json!({ "type": "string", "format": "date" }),
        Kind::DateTime => json!({ "type": "string", "format": "date-time" }),
        Kind::Bool => json!({ "type": "boolean" }),
        Kind::MultiPicklist | Kind::Tags => {
            json!({ "type": "array", "items": { "type": "string" } })
        }
        Kind::User | Kind::Department | Kind::Reference(_) | Kind::Lookup(_) => {
            json!({ "type": "integer" })
        }
        Kind::Lines => json!({ "type": "array", "items": { "type": "object" } }),
        Kind::Email => json!({ "type": "string", "format": "email" }),
        Kind::Url => json!({ "type": "string", "format": "uri" }),
    }
}

fn record_schema(entity: &Entity) -> Value {
    let mut properties = Map::new();
    for (name, kind) in [
        ("id", Kind::Integer),
        ("version", Kind::Integer),
        ("created_at", Kind::DateTime),
        ("updated_at", Kind::DateTime),
    ] {
        let mut described = schema(kind);
        described["readOnly"] = json!(true);
        properties.insert(name.into(), described);
    }
    if entity.is_owned() {
        properties.insert("owner_id".into(), json!({ "type": "integer" }));
        properties.insert(
            "department_id".into(),
            json!({ "type": "integer", "readOnly": true }),
        );
    }
    for field in entity.fields {
        let mut described = schema(field.kind);
        if !field.writable() {
            described["readOnly"] = json!(true);
        }
        properties.insert(field.name.into(), described);
    }
    let required: Vec<&str> = entity
        .fields
        .iter()
        .filter(|f| f.required)
        .map(|f| f.name)
        .collect();
    json!({ "type": "object", "properties": properties, "required": required })
}

fn operation(tag: &str, summary: &str, method: &str) -> Value {
    let mut op = json!({
        "tags": [tag],
        "summary": summary,
        "responses": {
            "200": { "description": "OK" },
            "default": { "$ref": "#/components/responses/Error" }
        }
    });
    if matches!(method, "post" | "put" | "patch") {
        op["requestBody"] =
            json!({ "content": { "application/json": { "schema": { "type": "object" } } } });
    }
    op
}

fn add(paths: &mut Map<String, Value>, method: &str, path: &str, op: Value) {
    let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
    entry[method] = op;
}

const LIST_PARAMETERS: &str = r##"[
  {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "Full-text search (any length, Chinese included); without `sort`, newest matches first"},
  {"name": "sort", "in": "query", "schema": {"type": "string"}, "description": "Field names, comma-separated; '-' for descending"},
  {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
  {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
  {"name": "filter", "in": "query", "style": "deepObject", "explode": true, "schema": {"type": "object"}, "description": "filter[FIELD]=V or filter[FIELD][OP]=V with OP in eq, ne, lt, lte, gt, gte, in, contains, empty"}
]"##;

fn entity_paths(paths: &mut Map<String, Value>, entity: &Entity) {
    let name = entity.name;
    let record = json!({ "$ref": format!("#/components/schemas/{name}") });
    let list_params: Value = serde_json::from_str(LIST_PARAMETERS).unwrap_or_default();
    let mut list = operation(
        name,
        &format!("List {name} (filters, sort, paging, search)"),
        "get",
    );
    list["parameters"] = list_params.clone();
    list["responses"]["200"] = json!({ "description": "A page", "content": { "application/json": { "schema": {
        "type": "object", "properties": { "items": { "type": "array", "items": record }, "total": { "type": "integer" },
        "total_exact": { "type": "boolean", "description": "false when more than `total` (1,000) rows match" },
        "page": { "type": "integer" }, "per_page": { "type": "integer" } } } } } });
    let base = format!("/api/v1/{name}");
    add(paths, "get", &base, list);
    let mut create = operation(name, &format!("Create one of {name}"), "post");
    create["requestBody"] = json!({ "content": { "application/json": { "schema": record } } });
    create["responses"]["201"] = json!({ "description": "Created", "content": { "application/json": { "schema": record } } });
    add(paths, "post", &base, create);
    let mut export = operation(name, "Export (same filters) as CSV or XLSX", "get");
    export["parameters"] = list_params.clone();
    add(paths, "get", &format!("{base}/export"), export);
    let mut summary = operation(
        name,
        "Count per value of group_by (picklist, tags, bool, owner_id, department_id), optional sum=FIELD; same filters as the list",
        "get",
    );
    let mut summary_params = list_params;
    if let Some(list) = summary_params.as_array_mut() {
        list.push(json!({ "name": "group_by", "in": "query", "required": true, "schema": { "type": "string" } }));
        list.push(json!({ "name": "sum", "in": "query", "schema": { "type": "string" } }));
    }
    summary["parameters"] = summary_params;
    add(paths, "get", &format!("{base}/summary"), summary);
    add(
        paths,
        "post",
        &format!("{base}/bulk"),
        operation(name, "Bulk assign, tag, release or delete", "post"),
    );
    let mut import = operation(
        name,
        "Import CSV/XLSX (multipart: file, mapping, upsert_key)",
        "post",
    );
    import["requestBody"] = json!({ "content": { "multipart/form-data": { "schema": { "type": "object",
        "properties": { "file": { "type": "string", "format": "binary" }, "mapping": { "type": "string" },
        "upsert_key": { "type": "string" }, "confirm_duplicates": { "type": "string" } } } } } });
    import["parameters"] =
        json!([{ "name": "dry_run", "in": "query", "schema": { "type": "boolean" } }]);
    add(paths, "post", &format!("{base}/import"), import.clone());
    add(paths, "post", &format!("{base}/import/preview"), import);
    let one = format!("{base}/{{id}}");
    add(paths, "get", &one, operation(name, "Get one", "get"));
    add(
        paths,
        "patch",
        &one,
        operation(name, "Update (with version)", "patch"),
    );
    add(
        paths,
        "delete",
        &one,
        operation(name, "Delete to the recycle bin", "delete"),
    );
    add(
        paths,
        "get",
        &format!("{one}/history"),
        operation(name, "Field-level history", "get"),
    );
    add(
        paths,
        "get",
        &format!("{one}/attachments"),
        operation(name, "Attached files", "get"),
    );
    add(
        paths,
        "post",
        &format!("{one}/attachments"),
        operation(
            name,
            "Attach a file (multipart: file, at most 10 MB)",
            "post",
        ),
    );
    add(
        paths,
        "get",
        &format!("{one}/comments"),
        operation(name, "Comments, oldest first", "get"),
    );
    add(
        paths,
        "post",
        &format!("{one}/comments"),
        operation(
            name,
            "Comment (body, mentions: user ids who are notified)",
            "post",
        ),
    );
    if entity.approval.is_some() {
        add(
            paths,
            "get",
            &format!("{one}/approval"),
            operation(
                name,
                "The record's latest approval, has_flow, can_submit",
                "get",
            ),
        );
        add(
            paths,
            "post",
            &format!("{one}/approval"),
            operation(
                name,
                "Submit for approval (comment?); the record is locked until it ends",
                "post",
            ),
        );
    }
    add(
        paths,
        "get",
        &format!("/api/v1/recycle-bin/{name}"),
        operation(name, "Deleted records", "get"),
    );
    add(
        paths,
        "post",
        &format!("/api/v1/recycle-bin/{name}/{{id}}/restore"),
        operation(name, "Restore from the recycle bin", "post"),
    );
}

pub fn document() -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for entity in registry::entities() {
        entity_paths(&mut paths, entity);
        schemas.insert(entity.name.into(), record_schema(entity));
    }
    for (method, path, tag, summary) in ROUTES {
        add(&mut paths, method, path, operation(tag, summary, method));
    }
    for (path, item) in paths.iter_mut() {
        let ids: Vec<Value> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|id| json!({ "name": id, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        if !ids.is_empty() {
            item["parameters"] = json!(ids);
        }
    }
    schemas.insert("Error".into(), json!({ "type": "object", "properties": { "error": { "type": "object", "properties": {
        "code": { "type": "string" }, "message": { "type": "string" }, "fields": { "type": "object" },
        "request_id": { "type": "string" } }, "required": ["code", "message"] } } }));
    json!({
        "openapi": "3.0.3",
        "info": { "title": "Kehu CRM", "version": env!("CARGO_PKG_VERSION") },
        "servers": [{ "url": "/" }],
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "session": { "type": "apiKey", "in": "cookie", "name": "kehu_session", "description": "Browser session; state-changing requests also send X-CSRF-Token" },
                "token": { "type": "http", "scheme": "bearer" }
            },
            "responses": { "Error": { "description": "Error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } } }
        },
        "security": [{ "session": [] }, { "token": [] }],
        "paths": paths,
    })
}

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(document())
}
