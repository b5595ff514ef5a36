//! Sales processes (销售流程): named pipelines of stages, each stage with a default win
//! probability and a kind (open, won, lost). Administrators keep them; every opportunity sits in
//! one stage of one pipeline. A stage that opportunities use cannot be removed.

use crate::auth::session::{Admin, CurrentUser};
use crate::db::Cached;
use crate::http::error::{AppError, FieldErrors};
use crate::http::input::Body;
use crate::http::state::AppState;
use crate::i18n::Lang;
use crate::org::actor;
use actix_web::{web, HttpRequest, HttpResponse};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};

const NAME_MAX: usize = 60;
const STAGES_MAX: usize = 20;
const KINDS: [&str; 3] = ["open", "won", "lost"];

/// The process a new company starts with: (Chinese, English, probability, kind).
const DEFAULT_STAGES: [(&str, &str, i64, &str); 6] = [
    ("验证客户", "Qualification", 10, "open"),
    ("需求分析", "Needs analysis", 25, "open"),
    ("方案报价", "Proposal", 50, "open"),
    ("商务谈判", "Negotiation", 75, "open"),
    ("赢单", "Won", 100, "won"),
    ("输单", "Lost", 0, "lost"),
];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/pipelines", web::get().to(list))
        .route("/pipelines", web::post().to(create))
        .route("/pipelines/{id}", web::put().to(replace))
        .route("/pipelines/{id}", web::delete().to(remove));
}

/// Creates the default pipeline in the company's language (first setup).
pub fn seed_default(conn: &Connection, lang: Lang) -> rusqlite::Result<()> {
    let name = match lang {
        Lang::ZhCn => "标准销售流程",
        Lang::En => "Standard sales process",
    };
    conn.execute(
        "INSERT INTO pipelines (name, position) VALUES (?1, 1)",
        [name],
    )?;
    let pipeline = conn.last_insert_rowid();
    for (position, (zh, en, probability, kind)) in DEFAULT_STAGES.iter().enumerate() {
        let name = if lang == Lang::ZhCn { zh } else { en };
        conn.execute(
            "INSERT INTO pipeline_stages (pipeline_id, name, probability, position, kind)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![pipeline, name, probability, position as i64 + 1, kind],
        )?;
    }
    Ok(())
}

/// One stage as the API shows it.
#[derive(Debug, Clone)]
pub struct Stage {
    pub id: i64,
    pub pipeline_id: i64,
    pub name: String,
    pub probability: i64,
    pub position: i64,
    pub kind: String,
}

impl Stage {
    pub fn json(&self) -> Value {
        json!({ "id": self.id, "name": self.name, "probability": self.probability,
                "position": self.position, "kind": self.kind })
    }

    pub fn is_open(&self) -> bool {
        self.kind == "open"
    }
}

const STAGE_COLUMNS: &str = "id, pipeline_id, name, probability, position, kind";

fn stage_row(r: &rusqlite::Row) -> rusqlite::Result<Stage> {
    Ok(Stage {
        id: r.get(0)?,
        pipeline_id: r.get(1)?,
        name: r.get(2)?,
        probability: r.get(3)?,
        position: r.get(4)?,
        kind: r.get(5)?,
    })
}

pub fn stage(conn: &Connection, id: i64) -> rusqlite::Result<Option<Stage>> {
    conn.one(
        &format!("SELECT {STAGE_COLUMNS} FROM pipeline_stages WHERE id = ?1"),
        [id],
        stage_row,
    )
    .optional()
}

/// A pipeline's stages in order.
pub fn stages(conn: &Connection, pipeline: i64) -> rusqlite::Result<Vec<Stage>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {STAGE_COLUMNS} FROM pipeline_stages WHERE pipeline_id = ?1 ORDER BY position"
    ))?;
    let rows = stmt.query_map([pipeline], stage_row)?.collect();
    rows
}

/// The first pipeline (what a request that names none gets).
pub fn default_pipeline(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    conn.one(
        "SELECT id FROM pipelines ORDER BY position, id LIMIT 1",
        [],
        |r| r.get(0),
    )
    .optional()
}

/// The pipeline a request names (`pipeline_id`), or the default one; 404 when it does not exist.
pub fn requested(conn: &Connection, id: Option<i64>) -> Result<i64, AppError> {
    let id = match id {
        Some(id) => id,
        None => default_pipeline(conn)?.ok_or_else(AppError::not_found)?,
    };
    let found: bool = conn.one(
        "SELECT EXISTS (SELECT 1 FROM pipelines WHERE id = ?1)",
        [id],
        |r| r.get(0),
    )?;
    found.then_some(id).ok_or_else(AppError::not_found)
}

fn all(conn: &Connection) -> Result<Vec<Value>, AppError> {
    let mut stmt = conn.prepare("SELECT id, name FROM pipelines ORDER BY position, id")?;
    let pipelines = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    pipelines
        .into_iter()
        .map(|(id, name)| {
            let stages: Vec<Value> = stages(conn, id)?.iter().map(Stage::json).collect();
            Ok(json!({ "id": id, "name": name, "stages": stages }))
        })
        .collect()
}

async fn list(state: web::Data<AppState>, _user: CurrentUser) -> Result<HttpResponse, AppError> {
    let items = state.db.read(all).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

/// A stage of a request body: `id` (an existing stage of the pipeline, when editing), `name`,
/// `probability`, `kind`.
struct StageInput {
    id: Option<i64>,
    name: String,
    probability: i64,
    kind: String,
}

fn parse_name(value: Option<&Value>, key: &str, max: usize, errors: &mut FieldErrors) -> String {
    let name = value
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or_default();
    if name.is_empty() {
        errors.add(key, "required", json!({}));
    } else if name.chars().count() > max {
        errors.add(key, "too_long", json!({ "max": max }));
    }
    name.to_string()
}

fn parse_stages(body: &Body, errors: &mut FieldErrors) -> Vec<StageInput> {
    let Some(raw) = body.0.get("stages").and_then(Value::as_array) else {
        errors.add("stages", "required", json!({}));
        return Vec::new();
    };
    if raw.is_empty() || raw.len() > STAGES_MAX {
        errors.add("stages", "between", json!({ "min": 1, "max": STAGES_MAX }));
    }
    let mut stages = Vec::new();
    for (i, stage) in raw.iter().enumerate() {
        let key = |k: &str| format!("stages.{i}.{k}");
        let name = parse_name(stage.get("name"), &key("name"), 40, errors);
        let probability = stage["probability"]
            .as_i64()
            .filter(|p| (0..=100).contains(p));
        if probability.is_none() {
            errors.add(
                &key("probability"),
                "between",
                json!({ "min": 0, "max": 100 }),
            );
        }
        let kind = stage["kind"].as_str().unwrap_or("open");
        if !KINDS.contains(&kind) {
            errors.add(
                &key("kind"),
                "one_of",
                json!({ "options": KINDS.join(", ") }),
            );
        }
        stages.push(StageInput {
            id: stage["id"].as_i64(),
            name,
            probability: probability.unwrap_or_default(),
            kind: kind.into(),
        });
    }
    if !stages.is_empty() && !stages.iter().any(|s| s.kind == "open") {
        errors.add("stages", "needs_open_stage", json!({}));
    }
    stages
}

/// Writes a pipeline's name and stages: stages with an `id` of this pipeline are updated, the
/// others are added, and stages left out are removed unless an opportunity is in them.
fn save(conn: &Connection, id: i64, name: &str, stages: &[StageInput]) -> Result<(), AppError> {
    let taken: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM pipelines WHERE name = ?1 AND id <> ?2)",
        params![name, id],
        |r| r.get(0),
    )?;
    if taken {
        return Err(AppError::field("name", "taken", json!({})));
    }
    conn.execute(
        "UPDATE pipelines SET name = ?1 WHERE id = ?2",
        params![name, id],
    )?;
    let existing: Vec<i64> = self::stages(conn, id)?.iter().map(|s| s.id).collect();
    let mut kept = Vec::new();
    for (index, stage) in stages.iter().enumerate() {
        let position = index as i64 + 1;
        match stage.id {
            Some(stage_id) if existing.contains(&stage_id) => {
                conn.execute(
                    "UPDATE pipeline_stages SET name = ?1, probability = ?2, kind = ?3,
                         position = ?4 WHERE id = ?5",
                    params![
                        stage.name,
                        stage.probability,
                        stage.kind,
                        position,
                        stage_id
                    ],
                )?;
                kept.push(stage_id);
            }
            Some(_) => {
                let key = format!("stages.{index}.id");
                return Err(AppError::field(&key, "not_found", json!({})));
            }
            None => {
                conn.execute(
                    "INSERT INTO pipeline_stages (pipeline_id, name, probability, position, kind)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![id, stage.name, stage.probability, position, stage.kind],
                )?;
            }
        }
    }
    for stage_id in existing.into_iter().filter(|s| !kept.contains(s)) {
        let used: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM opportunities WHERE stage_id = ?1)
                 OR EXISTS (SELECT 1 FROM opportunity_stages WHERE stage_id = ?1)",
            [stage_id],
            |r| r.get(0),
        )?;
        if used {
            return Err(AppError::conflict("stage_in_use"));
        }
        conn.execute("DELETE FROM pipeline_stages WHERE id = ?1", [stage_id])?;
    }
    Ok(())
}

fn parse_pipeline(body: &Body) -> Result<(String, Vec<StageInput>), AppError> {
    let mut errors = FieldErrors::new();
    body.refuse_others(&["name", "stages"], &mut errors);
    let name = parse_name(body.0.get("name"), "name", NAME_MAX, &mut errors);
    let stages = parse_stages(body, &mut errors);
    errors.into_result()?;
    Ok((name, stages))
}

fn one(conn: &Connection, id: i64) -> Result<Value, AppError> {
    all(conn)?
        .into_iter()
        .find(|p| p["id"] == id)
        .ok_or_else(AppError::not_found)
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let (name, stages) = parse_pipeline(&Body::parse(body.into_inner())?)?;
    let who = actor(&req, &admin);
    let pipeline = state
        .db
        .write(move |tx| {
            tx.execute(
                "INSERT INTO pipelines (name, position)
                 VALUES (?1, (SELECT coalesce(max(position), 0) + 1 FROM pipelines))",
                [&name],
            )?;
            let id = tx.last_insert_rowid();
            save(tx, id, &name, &stages)?;
            crate::audit::record(tx, &who, "pipeline_saved", None, json!({ "name": name }))?;
            one(tx, id)
        })
        .await?;
    Ok(HttpResponse::Created().json(pipeline))
}

async fn replace(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<i64>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (name, stages) = parse_pipeline(&Body::parse(body.into_inner())?)?;
    let who = actor(&req, &admin);
    let pipeline = state
        .db
        .write(move |tx| {
            one(tx, id)?;
            save(tx, id, &name, &stages)?;
            crate::audit::record(tx, &who, "pipeline_saved", None, json!({ "name": name }))?;
            one(tx, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(pipeline))
}

async fn remove(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let who = actor(&req, &admin);
    state
        .db
        .write(move |tx| {
            let pipeline = one(tx, id)?;
            let used: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM opportunities WHERE pipeline_id = ?1)",
                [id],
                |r| r.get(0),
            )?;
            let last: bool =
                tx.query_row("SELECT count(*) = 1 FROM pipelines", [], |r| r.get(0))?;
            if used || last {
                return Err(AppError::conflict("pipeline_in_use"));
            }
            tx.execute("DELETE FROM pipeline_stages WHERE pipeline_id = ?1", [id])?;
            tx.execute("DELETE FROM pipelines WHERE id = ?1", [id])?;
            let name = pipeline["name"].clone();
            crate::audit::record(tx, &who, "pipeline_deleted", None, json!({ "name": name }))?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
