//! `kehu demo`: a believable Chinese company in an empty data directory, for trying Kehu before
//! buying it (`--size small`) and for measuring it at a real company's size (`--size large`).
//!
//! Every record is written by `store::create` as the person who owns it, so it passes the same
//! validation, search indexing, history and business rules as a request to the API. The
//! company's two years are replayed with `time::as_of`: each record is stamped when it
//! happened. The same seed gives the same company (dates are relative to the day it runs).

mod org;
mod words;

use crate::audit::Actor;
use crate::crm::pipelines::{self, Stage};
use crate::entity::descriptor::Entity;
use crate::entity::store::{self, Caller};
use crate::entity::{approvals, automation, registry};
use crate::http::error::AppError;
use crate::time::{as_of, now_ms};
use org::Org;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::types::Value as Sql;
use rusqlite::Connection;
use serde_json::{json, Value};
use std::time::Instant;

const DAY_MS: i64 = 86_400_000;
/// The company's history: records are spread over the last two years.
const HISTORY_DAYS: i64 = 730;
/// Rows per transaction: big enough that commits and the full-text index's flushes are rare,
/// small enough that memory stays flat.
const BATCH_ROWS: u64 = 100_000;
/// Rows between two progress reports.
const REPORT_ROWS: u64 = 20_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Small,
    Large,
}

/// How much of everything a size makes.
struct Plan {
    staff: org::Staffing,
    products: usize,
    customers: u64,
    contacts: u64,
    followups: u64,
    leads: u64,
    opportunities: u64,
    contracts: u64,
    tasks: u64,
    /// Contracts submitted for approval this week, still in approval.
    approvals: u64,
}

impl Plan {
    fn of(size: Size) -> Plan {
        match size {
            Size::Small => Plan {
                staff: org::Staffing::SMALL,
                products: 10,
                customers: 300,
                contacts: 600,
                followups: 1_500,
                leads: 120,
                opportunities: 150,
                contracts: 60,
                tasks: 80,
                approvals: 6,
            },
            Size::Large => Plan {
                staff: org::Staffing::LARGE,
                products: 15,
                customers: 1_000_000,
                contacts: 2_000_000,
                followups: 5_000_000,
                leads: 300_000,
                opportunities: 300_000,
                contracts: 100_000,
                tasks: 50_000,
                approvals: 300,
            },
        }
    }

    /// The rows the plan writes, roughly (plans, payments and invoices follow the contracts).
    fn rows(&self) -> u64 {
        self.customers
            + self.contacts
            + self.followups
            + self.leads
            + self.opportunities
            + self.contracts * 4
            + self.tasks
            + self.approvals
    }
}

/// What the operator is told at the end.
pub struct Summary {
    pub admin_password: String,
    pub staff_password: String,
    pub people: Vec<(String, String, String)>,
    pub rows: u64,
    pub seconds: f64,
    pub counts: Vec<(&'static str, u64)>,
}

/// `n` spread evenly over `slots`: how many slot `i` gets (the totals come out exact).
fn share(n: u64, slots: u64, i: u64) -> u64 {
    (i + 1) * n / slots - i * n / slots
}

/// How far the generator is, for the operator's progress line.
pub struct Progress<'p> {
    pub phase: &'p str,
    pub done: u64,
    pub of: u64,
    pub rows: u64,
    pub planned_rows: u64,
    pub rows_per_second: f64,
}

/// Fills the empty database behind `conn`, telling `progress` how far it is now and then.
pub fn generate(
    conn: &mut Connection,
    size: Size,
    seed: u64,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Summary, AppError> {
    let plan = Plan::of(size);
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    // A fresh file with nothing to lose until the end: no fsync per commit, rollback journal in
    // memory. The file is switched back to write-ahead logging and synced before we finish.
    // Foreign keys are checked once at the end instead of per statement: an UPDATE of a table
    // with foreign keys opens a statement savepoint, and FTS5 flushes its pending terms at every
    // savepoint, which would leave a tiny index segment per follow-up. The references
    // themselves are still validated per record by the write path (`check_links`).
    conn.execute_batch(
        "PRAGMA synchronous = OFF; PRAGMA journal_mode = MEMORY; PRAGMA cache_size = -1000000;
         PRAGMA foreign_keys = OFF;",
    )?;
    // Records are written as each of up to 500 people, and the statements that test what a
    // person may reference name them: room for all of them, not the server's 256.
    conn.set_prepared_statement_cache_capacity(4096);
    let today = now_ms();
    let org = {
        let tx = conn.transaction()?;
        let org = org::build(&tx, &plan.staff, &mut rng, today - HISTORY_DAYS * DAY_MS)?;
        tx.commit()?;
        org
    };
    let mut demo = Demo {
        conn,
        rng,
        seed,
        org,
        today,
        stages: Vec::new(),
        products: Vec::new(),
        written: 0,
        committed: 0,
        reported: 0,
        counts: Vec::new(),
        started,
        progress,
        phase: ("", 0, 0),
        planned_rows: plan.rows(),
        held: Vec::new(),
    };
    demo.conn.execute_batch("BEGIN IMMEDIATE")?;
    demo.products(plan.products)?;
    demo.customers(&plan)?;
    demo.leads(plan.leads)?;
    demo.tasks(plan.tasks)?;
    demo.approvals_in_flight(plan.approvals)?;
    demo.office_forms(plan.approvals)?;
    demo.automation_rules()?;
    demo.conn.execute_batch("COMMIT")?;
    demo.report();
    let seconds = started.elapsed().as_secs_f64();
    let broken: i64 =
        demo.conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })?;
    if broken > 0 {
        return Err(AppError::internal(format!(
            "{broken} broken references in the demo data"
        )));
    }
    demo.conn.execute_batch(
        "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         PRAGMA optimize = 0x10002;",
    )?;
    Ok(Summary {
        admin_password: demo.org.admin_password.clone(),
        staff_password: demo.org.staff_password.clone(),
        people: demo.org.introductions(),
        rows: demo.written,
        seconds,
        counts: demo.counts,
    })
}

struct Demo<'a> {
    conn: &'a mut Connection,
    rng: StdRng,
    seed: u64,
    org: Org,
    today: i64,
    stages: Vec<Stage>,
    products: Vec<(i64, i64)>,
    written: u64,
    /// Rows written when the last transaction was committed, and when progress was reported.
    committed: u64,
    reported: u64,
    counts: Vec<(&'static str, u64)>,
    started: Instant,
    progress: &'a mut dyn FnMut(&Progress),
    phase: (&'static str, u64, u64),
    planned_rows: u64,
    /// A few recent customers of each member, for the tasks about them.
    held: Vec<Vec<i64>>,
}

impl Demo<'_> {
    /// Writes one record as `who`, at instant `at`, through the API's own create path.
    fn create(
        &mut self,
        entity: &str,
        who: usize,
        at: i64,
        body: Value,
    ) -> Result<Value, AppError> {
        let entity: &'static Entity = registry::find(entity).ok_or_else(AppError::not_found)?;
        let Value::Object(body) = body else {
            return Err(AppError::internal("demo body is not an object"));
        };
        let member = &self.org.members[who];
        let caller = Caller {
            rights: &member.rights,
            actor: &member.actor,
        };
        let conn: &Connection = self.conn;
        let record = as_of(at, || store::create(conn, entity, &caller, &body))?;
        self.count(entity.name);
        Ok(record)
    }

    /// Two rules a sales company starts with, made by the administrator after the history
    /// (so they act from now on): a reminder before a contract ends, and a task for a key
    /// customer who has gone two weeks without a follow-up.
    fn automation_rules(&mut self) -> Result<(), AppError> {
        let admin = self
            .org
            .members
            .iter()
            .find(|m| m.role == org::Role::Administrator)
            .map(|m| m.id)
            .ok_or_else(AppError::not_found)?;
        let rules = [
            (
                "合同到期前 30 天提醒负责人",
                "contracts",
                json!({"on": "date_approaches", "field": "ends_on", "days": 30}),
                json!([]),
                json!([{"kind": "notify", "owner": true, "message": "合同 30 天内到期，请联系客户续约"}]),
            ),
            (
                "A 级客户两周未跟进生成回访任务",
                "customers",
                json!({"on": "no_followup", "days": 14}),
                json!([{"field": "level", "op": "eq", "value": "A"}]),
                json!([{"kind": "task", "title": "回访重点客户", "due_in_days": 2}]),
            ),
        ];
        for (name, entity, trigger, conditions, actions) in rules {
            automation::make(
                self.conn,
                name,
                entity,
                &(trigger, conditions, actions),
                admin,
            )?;
        }
        Ok(())
    }

    /// The contract flow a sales company runs (the team's head, then the director above
    /// 500,000 yuan), and `count` renewal contracts submitted to it by their reps this week,
    /// a third of them past the first step: approvals waiting, with their notifications.
    fn approvals_in_flight(&mut self, count: u64) -> Result<(), AppError> {
        let director = self
            .org
            .members
            .iter()
            .find(|m| m.role == org::Role::Director)
            .map(|m| m.id)
            .ok_or_else(AppError::not_found)?;
        let steps = json!([
            {"name": "主管审批", "approver": {"kind": "head", "levels": 1}},
            {"name": "总监审批", "approver": {"kind": "users", "user_ids": [director]},
             "condition": {"field": "amount", "op": "gt", "value": 50_000_000}},
        ]);
        self.conn.execute(
            "UPDATE approval_flows SET steps = ?1, version = version + 1 WHERE entity = 'contracts'",
            [steps.to_string()],
        )?;
        let contracts: &'static Entity =
            registry::find("contracts").ok_or_else(AppError::not_found)?;
        self.begin("approvals", count);
        for n in 0..count {
            let owner = self.org.seller(&mut self.rng);
            let Some(&customer) = self.held[owner].last() else {
                continue;
            };
            let at = self.today - self.rng.random_range(1..7) * DAY_MS;
            let amount = self.rng.random_range(5..200) * 1_000_000;
            let contract = self.create(
                "contracts",
                owner,
                at,
                json!({ "name": "续约合同", "customer_id": customer, "amount": amount }),
            )?;
            let submitted =
                self.submitted(owner, contracts, &contract, at, "客户已确认条款，请审批")?;
            if n % 3 == 0 {
                self.first_step_approved(submitted, at)?;
            }
            self.step(n + 1)?;
        }
        Ok(())
    }

    /// `record` submitted to its flow by its owner `owner` at `at`; answers the approval.
    fn submitted(
        &mut self,
        owner: usize,
        entity: &'static Entity,
        record: &Value,
        at: i64,
        comment: &str,
    ) -> Result<i64, AppError> {
        let member = &self.org.members[owner];
        let caller = Caller {
            rights: &member.rights,
            actor: &member.actor,
        };
        let conn: &Connection = self.conn;
        let id = Self::id(record);
        as_of(at, || {
            approvals::submit(conn, entity, &caller, id, Some(comment.into()))
        })
    }

    /// Leave requests and expense claims from the sales floor this fortnight, approved by the
    /// rep's team head: every one submitted, a third of them approved already.
    fn office_forms(&mut self, count: u64) -> Result<(), AppError> {
        let head_approves =
            json!([{"name": "主管审批", "approver": {"kind": "head", "levels": 1}}]);
        for entity in ["leaves", "expenses"] {
            self.conn.execute(
                "UPDATE approval_flows SET steps = ?1, version = version + 1 WHERE entity = ?2",
                rusqlite::params![head_approves.to_string(), entity],
            )?;
        }
        self.begin("office", count);
        for n in 0..count {
            let owner = self.org.seller(&mut self.rng);
            let at = self.today - self.rng.random_range(1..14) * DAY_MS;
            let day = chrono::DateTime::from_timestamp_millis(at)
                .unwrap_or_default()
                .with_timezone(&chrono_tz::Asia::Shanghai)
                .date_naive();
            let (entity, body, comment) = if n % 2 == 0 {
                let days = self.rng.random_range(1..4);
                let ends = day + chrono::Days::new(days - 1);
                let body = json!({ "title": "年假", "kind": "annual", "starts_on": day.to_string(),
                                   "ends_on": ends.to_string(), "days": days, "reason": "家中有事" });
                ("leaves", body, "请批准")
            } else {
                let amount = self.rng.random_range(5..300) * 10_000;
                let body = json!({ "title": "拜访客户差旅费", "category": "travel", "amount": amount,
                                   "spent_on": day.to_string() });
                ("expenses", body, "发票已附")
            };
            let form = self.create(entity, owner, at, body)?;
            let descriptor: &'static Entity =
                registry::find(entity).ok_or_else(AppError::not_found)?;
            let submitted = self.submitted(owner, descriptor, &form, at, comment)?;
            if n % 3 == 0 {
                self.first_step_approved(submitted, at)?;
            }
            self.step(n + 1)?;
        }
        Ok(())
    }

    /// The head of the submitter's team approves the first step of `instance`, at `at`.
    fn first_step_approved(&mut self, instance: i64, at: i64) -> Result<(), AppError> {
        let approver: i64 = self.conn.query_row(
            "SELECT approver_id FROM approval_tasks WHERE instance_id = ?1 AND step = 0",
            [instance],
            |r| r.get(0),
        )?;
        let Some(member) = self.org.members.iter().find(|m| m.id == approver) else {
            return Ok(());
        };
        let caller = Caller {
            rights: &member.rights,
            actor: &member.actor,
        };
        let conn: &Connection = self.conn;
        as_of(at + DAY_MS / 2, || {
            approvals::decide_as(
                conn,
                &caller,
                instance,
                approvals::Move::Approve,
                None,
                (None, None),
            )
        })
    }

    /// A signed contract went through its approval before the demo's history begins: it stands
    /// as the flow left it (`status`), which no request may set.
    fn approved_contract(&mut self, id: i64, at: i64, status: &str) -> Result<(), AppError> {
        let entity: &'static Entity =
            registry::find("contracts").ok_or_else(AppError::not_found)?;
        let value = [("status", Sql::Text(status.to_string()))];
        let conn: &Connection = self.conn;
        as_of(at, || {
            store::set_system_fields(
                conn,
                entity,
                &Actor::system(),
                id,
                &value,
                "approval_approved",
            )
        })
        .map(drop)
    }

    fn count(&mut self, entity: &'static str) {
        match self.counts.iter_mut().find(|(name, _)| *name == entity) {
            Some((_, n)) => *n += 1,
            None => self.counts.push((entity, 1)),
        }
        self.written += 1;
    }

    /// Commits every `BATCH_ROWS` rows and tells the operator how far we are.
    fn step(&mut self, done: u64) -> Result<(), AppError> {
        self.phase.1 = done;
        if self.written - self.committed >= BATCH_ROWS {
            self.conn.execute_batch("COMMIT; BEGIN IMMEDIATE")?;
            self.committed = self.written;
        }
        if self.written - self.reported >= REPORT_ROWS {
            self.report();
        }
        Ok(())
    }

    fn begin(&mut self, phase: &'static str, of: u64) {
        self.phase = (phase, 0, of);
        self.report();
    }

    fn report(&mut self) {
        self.reported = self.written;
        let elapsed = self.started.elapsed().as_secs_f64();
        let rate = if elapsed > 0.0 {
            self.written as f64 / elapsed
        } else {
            0.0
        };
        let (phase, done, of) = self.phase;
        (self.progress)(&Progress {
            phase,
            done,
            of,
            rows: self.written,
            planned_rows: self.planned_rows,
            rows_per_second: rate,
        });
    }

    fn id(record: &Value) -> i64 {
        record["id"].as_i64().unwrap_or_default()
    }

    /// An instant `days` after `from` plus a random part of a working day.
    fn moment(&mut self, from: i64, days: i64) -> i64 {
        let working_hours = self.rng.random_range(1..10) * 3_600_000;
        (from + days * DAY_MS + working_hours).min(self.today)
    }

    fn date(ms: i64) -> String {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .format("%Y-%m-%d")
            .to_string()
    }

    fn instant(ms: i64) -> String {
        crate::time::rfc3339(ms)
    }

    fn products(&mut self, count: usize) -> Result<(), AppError> {
        self.begin("products", count as u64);
        let start = self.today - HISTORY_DAYS * DAY_MS;
        for (i, (name, category, unit, yuan)) in words::PRODUCTS.iter().take(count).enumerate() {
            let body = json!({
                "name": name, "code": format!("P{:04}", i + 1), "category": category,
                "unit": unit, "price": yuan * 100, "active": true,
            });
            let product = self.create("products", self.org.admin, start, body)?;
            self.products.push((Self::id(&product), yuan * 100));
        }
        let pipeline = pipelines::default_pipeline(self.conn)?.ok_or_else(AppError::not_found)?;
        self.stages = pipelines::stages(self.conn, pipeline)?;
        Ok(())
    }

    /// Customers in the order they were won over two years, each with its contacts, follow-ups
    /// and, for some, an opportunity, a contract, its payment plan, payments and invoices.
    fn customers(&mut self, plan: &Plan) -> Result<(), AppError> {
        self.begin("customers", plan.customers);
        let span = HISTORY_DAYS * DAY_MS;
        let start = self.today - span;
        let customer_followups = plan.followups - plan.leads - plan.opportunities;
        for i in 0..plan.customers {
            let owner = self.org.seller(&mut self.rng);
            let created = start + (span as f64 * i as f64 / plan.customers as f64) as i64;
            let customer = self.customer(i, owner, created)?;
            self.hold(owner, Self::id(&customer));
            let contacts = share(plan.contacts, plan.customers, i);
            let mut first_contact = None;
            for c in 0..contacts {
                let at = self.moment(created, c as i64);
                let contact = self.contact(Self::id(&customer), owner, at, i * 4 + c)?;
                first_contact.get_or_insert(Self::id(&contact));
            }
            let followups = share(customer_followups, plan.customers, i);
            self.followups(
                ("customers", Self::id(&customer)),
                owner,
                created,
                followups,
            )?;
            let deals = share(plan.opportunities, plan.customers, i);
            let contracts = share(plan.contracts, plan.customers, i);
            for d in 0..deals {
                let signed = d == 0 && contracts > 0;
                self.opportunity(&customer, first_contact, owner, created, signed)?;
            }
            if deals == 0 && contracts > 0 {
                self.contract(&customer, None, owner, created, None)?;
            }
            self.step(i + 1)?;
        }
        Ok(())
    }

    fn hold(&mut self, owner: usize, customer: i64) {
        if self.held.len() <= owner {
            self.held.resize(owner + 1, Vec::new());
        }
        let held = &mut self.held[owner];
        if held.len() < 32 {
            held.push(customer);
        } else {
            let slot = self.rng.random_range(0..held.len());
            held[slot] = customer;
        }
    }

    fn customer(&mut self, serial: u64, owner: usize, at: i64) -> Result<Value, AppError> {
        let company = words::company(&mut self.rng, serial, self.seed);
        let rng = &mut self.rng;
        let level = *words::pick(rng, &["A", "B", "B", "C", "C", "C"]);
        let stage = *words::pick(
            rng,
            &["prospect", "new", "active", "active", "declining", "lost"],
        );
        let size = *words::pick(rng, &["micro", "small", "small", "medium", "large"]);
        let source = *words::pick(
            rng,
            &[
                "referral",
                "website",
                "exhibition",
                "cold_call",
                "advertising",
            ],
        );
        let body = json!({
            "name": company.name, "kind": "company", "level": level, "stage": stage,
            "industry": company.industry, "size": size, "source": source,
            "tags": words::tags(rng), "phone": company.phone, "email": company.email,
            "website": company.website, "region": company.region, "address": company.address,
        });
        self.create("customers", owner, at, body)
    }

    fn contact(
        &mut self,
        customer: i64,
        owner: usize,
        at: i64,
        serial: u64,
    ) -> Result<Value, AppError> {
        let rng = &mut self.rng;
        let body = json!({
            "customer_id": customer, "name": words::person(rng), "title": words::title(rng),
            "mobile": words::mobile(rng), "email": format!("contact{serial}@example.cn"),
            "wechat": words::wechat(rng, serial), "decision_maker": rng.random_bool(0.3),
        });
        self.create("contacts", owner, at, body)
    }

    /// `count` follow-ups of a record by its owner since `since`, oldest first; the latest
    /// names the next one (overdue, this week or later), so reminders have something to show.
    fn followups(
        &mut self,
        (entity, id): (&str, i64),
        owner: usize,
        since: i64,
        count: u64,
    ) -> Result<(), AppError> {
        let room = ((self.today - since) / DAY_MS).max(1);
        let mut days: Vec<i64> = (0..count).map(|_| self.rng.random_range(0..room)).collect();
        days.sort_unstable();
        for (n, day) in days.iter().enumerate() {
            let at = self.moment(since, *day);
            let mut body = json!({
                "entity": entity, "record_id": id,
                "method": words::pick(&mut self.rng, &["phone", "phone", "visit", "wechat", "email", "meeting"]),
                "content": words::followup_note(&mut self.rng), "followed_at": Self::instant(at),
            });
            if n + 1 == days.len() && self.rng.random_bool(0.6) {
                let next = self.today + self.rng.random_range(-5..21) * DAY_MS;
                body["next_at"] = json!(Self::instant(next.max(at + DAY_MS)));
            }
            self.create("followups", owner, at, body)?;
        }
        Ok(())
    }

    /// A deal with the customer. Old deals are closed (won or lost), recent ones are open and
    /// spread over the stages; `signed` ones are won and get their contract.
    fn opportunity(
        &mut self,
        customer: &Value,
        contact: Option<i64>,
        owner: usize,
        since: i64,
        signed: bool,
    ) -> Result<(), AppError> {
        let room = ((self.today - since) / DAY_MS).max(1);
        let day = self.rng.random_range(0..room);
        let at = self.moment(since, day);
        let age_days = (self.today - at) / DAY_MS;
        let (won, lost): (Vec<&Stage>, Vec<&Stage>) = (
            self.stages.iter().filter(|s| s.kind == "won").collect(),
            self.stages.iter().filter(|s| s.kind == "lost").collect(),
        );
        let open: Vec<&Stage> = self.stages.iter().filter(|s| s.is_open()).collect();
        let stage = if signed {
            won[0]
        } else if age_days > 120 && self.rng.random_bool(0.7) {
            if self.rng.random_bool(0.3) {
                won[0]
            } else {
                lost[0]
            }
        } else {
            open[self.rng.random_range(0..open.len())]
        };
        let (stage_id, stage_kind) = (stage.id, stage.kind.clone());
        let customer_name = customer["name"].as_str().unwrap_or_default().to_string();
        let mut body = json!({
            "name": words::opportunity_name(&mut self.rng, &customer_name),
            "customer_id": Self::id(customer), "stage_id": stage_id,
            "expected_close": Self::date(at + self.rng.random_range(20..180) * DAY_MS),
            "source": words::pick(&mut self.rng, &["referral", "website", "exhibition", "cold_call", "existing_customer"]),
            "competitor": words::competitor(&mut self.rng),
        });
        if let Some(contact) = contact {
            body["contact_id"] = json!(contact);
        }
        if self.rng.random_bool(0.4) {
            body["lines"] = json!(self.lines());
        } else {
            body["amount"] = json!(self.rng.random_range(20..2_000) * 100_000);
        }
        match stage_kind.as_str() {
            "won" => {
                body["win_loss_reason"] = json!(words::pick(&mut self.rng, words::WIN_REASONS))
            }
            "lost" => {
                body["win_loss_reason"] = json!(words::pick(&mut self.rng, words::LOST_REASONS))
            }
            _ => {}
        }
        let deal = self.create("opportunities", owner, at, body)?;
        self.followups(("opportunities", Self::id(&deal)), owner, at, 1)?;
        if signed {
            self.contract(customer, Some(&deal), owner, at, contact)?;
        }
        Ok(())
    }

    /// One to three product lines with the discounts sales people give.
    fn lines(&mut self) -> Vec<Value> {
        (0..self.rng.random_range(1..=3))
            .map(|_| {
                let (product, price) = self.products[self.rng.random_range(0..self.products.len())];
                json!({
                    "product_id": product, "quantity": self.rng.random_range(1..20),
                    "unit_price": price, "discount_bp": *words::pick(&mut self.rng, &[0, 0, 500, 1000, 1500]),
                })
            })
            .collect()
    }

    /// A contract signed after the deal, its payment plan (one to three instalments adding up
    /// to the amount), the payments of the instalments already due, and invoices for them.
    fn contract(
        &mut self,
        customer: &Value,
        deal: Option<&Value>,
        owner: usize,
        since: i64,
        contact: Option<i64>,
    ) -> Result<(), AppError> {
        let day = self.rng.random_range(3..30);
        let signed = self.moment(since, day);
        let amount = match deal {
            Some(deal) => deal["amount"].as_i64().unwrap_or(10_000_000),
            None => self.rng.random_range(10..500) * 100_000,
        };
        let months = *words::pick(&mut self.rng, &[6, 12, 12, 24]);
        let ends = signed + months * 30 * DAY_MS;
        let status = if ends < self.today {
            "completed"
        } else {
            "active"
        };
        let mut body = json!({
            "name": format!("{}合同", deal.and_then(|d| d["name"].as_str()).unwrap_or("年度服务")),
            "customer_id": Self::id(customer), "amount": amount,
            "signed_on": Self::date(signed), "starts_on": Self::date(signed),
            "ends_on": Self::date(ends), "payment_terms": "合同签订后按回款计划付款",
        });
        if let Some(deal) = deal {
            body["opportunity_id"] = json!(Self::id(deal));
        }
        if let Some(contact) = contact {
            body["contact_id"] = json!(contact);
        }
        let contract = self.create("contracts", owner, signed, body)?;
        let id = Self::id(&contract);
        self.approved_contract(id, signed, status)?;
        let instalments = self.rng.random_range(1..=3);
        for n in 0..instalments {
            let part = share(amount as u64, instalments, n) as i64;
            let due = signed + (n as i64 + 1) * months * 30 * DAY_MS / (instalments as i64 + 1);
            let plan = self.create("payment_plans", owner, signed, json!({
                "contract_id": id, "instalment": n + 1, "due_date": Self::date(due), "amount": part,
            }))?;
            if due < self.today {
                let late = self.rng.random_range(-10..20);
                let paid_at = self.moment(due, late).max(signed);
                let method = *words::pick(
                    &mut self.rng,
                    &[
                        "bank_transfer",
                        "bank_transfer",
                        "acceptance_bill",
                        "wechat_pay",
                    ],
                );
                self.create(
                    "payments",
                    owner,
                    paid_at,
                    json!({
                        "contract_id": id, "plan_id": Self::id(&plan), "amount": part,
                        "received_at": Self::date(paid_at), "method": method,
                    }),
                )?;
                if n == 0 {
                    let kind =
                        *words::pick(&mut self.rng, &["vat_special", "vat_normal", "electronic"]);
                    let tax_number = words::tax_number(&mut self.rng);
                    self.create("invoices", owner, paid_at, json!({
                        "contract_id": id, "type": kind,
                        "number": format!("{:08}", id * 10 + n as i64), "title": customer["name"],
                        "tax_number": tax_number, "amount": part,
                        "issued_on": Self::date(paid_at), "status": "issued",
                    }))?;
                }
            }
        }
        Ok(())
    }

    /// Leads from the website, fairs and calls, spread over two years; recent ones are new.
    fn leads(&mut self, count: u64) -> Result<(), AppError> {
        self.begin("leads", count);
        let span = HISTORY_DAYS * DAY_MS;
        let start = self.today - span;
        for i in 0..count {
            let owner = self.org.seller(&mut self.rng);
            let at = start + (span as f64 * i as f64 / count.max(1) as f64) as i64;
            let rng = &mut self.rng;
            let (company, industry, region) = words::lead_company(rng);
            let status = if self.today - at < 30 * DAY_MS {
                "new"
            } else {
                *words::pick(rng, &["new", "contacted", "contacted", "qualified"])
            };
            let body = json!({
                "name": words::person(rng), "company": company, "title": words::title(rng),
                "mobile": words::mobile(rng), "industry": industry, "region": region,
                "source": words::pick(rng, &["website", "website", "exhibition", "cold_call", "advertising", "referral"]),
                "status": status,
            });
            let lead = self.create("leads", owner, at, body)?;
            self.followups(("leads", Self::id(&lead)), owner, at, 1)?;
            self.step(i + 1)?;
        }
        Ok(())
    }

    /// Tasks the managers hand to their people, about their customers, most of them done.
    fn tasks(&mut self, count: u64) -> Result<(), AppError> {
        self.begin("tasks", count);
        for i in 0..count {
            let (manager, assignee) = self.org.assignment(&mut self.rng);
            let due = self.today + self.rng.random_range(-60..30) * DAY_MS;
            let at = due - self.rng.random_range(1..14) * DAY_MS;
            let customer = self
                .held
                .get(assignee)
                .filter(|held| !held.is_empty())
                .map(|held| held[self.rng.random_range(0..held.len())]);
            let status = if due < self.today {
                *words::pick(
                    &mut self.rng,
                    &["done", "done", "done", "cancelled", "open"],
                )
            } else {
                *words::pick(&mut self.rng, &["open", "open", "in_progress"])
            };
            let mut body = json!({
                "title": words::task_title(&mut self.rng), "assignee_id": self.org.members[assignee].id,
                "priority": words::pick(&mut self.rng, &["low", "normal", "normal", "high", "urgent"]),
                "status": status, "due_at": Self::instant(due),
            });
            if let Some(customer) = customer {
                body["entity"] = json!("customers");
                body["record_id"] = json!(customer);
            }
            self.create("tasks", manager, at.min(self.today), body)?;
            self.step(i + 1)?;
        }
        Ok(())
    }
}

impl Org {
    /// Who is told what: the administrator, and one person of each role to sign in as.
    fn introductions(&self) -> Vec<(String, String, String)> {
        let mut seen = Vec::new();
        let mut people = Vec::new();
        for member in &self.members {
            if seen.contains(&member.role) {
                continue;
            }
            seen.push(member.role);
            people.push((
                member.username.clone(),
                member.role.label().to_string(),
                member.department_name.clone(),
            ));
        }
        people
    }
}
