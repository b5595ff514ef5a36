//! The demo company's people: a department tree (head office, a sales centre with regions and
//! their teams, the back office), roles from the sales director (everything) down to the sales
//! rep (their own records), and the users in them. The administrator gets a password of their
//! own; everyone else shares one, both random and printed once.

use super::words;
use crate::access::Rights;
use crate::audit::Actor;
use crate::auth::passwords;
use crate::auth::setup::{self, SetupInput};
use crate::auth::users;
use crate::entity::registry;
use crate::http::error::AppError;
use crate::i18n::Lang;
use crate::time::as_of;
use rand::distr::{Alphanumeric, SampleString};
use rand::rngs::StdRng;
use rand::Rng;
use rusqlite::{params, Connection};
use serde_json::{json, Map, Value};

pub const COMPANY: &str = "云启智能科技有限公司";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Administrator,
    Director,
    RegionalManager,
    TeamManager,
    Rep,
    Finance,
    Service,
    Staff,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Administrator => "系统管理员 administrator",
            Role::Director => "销售总监 sales director (all records)",
            Role::RegionalManager => "区域经理 regional manager (region's tree)",
            Role::TeamManager => "销售经理 team manager (own team)",
            Role::Rep => "销售代表 sales rep (own records)",
            Role::Finance => "财务 finance (contracts and payments)",
            Role::Service => "客服 customer service (reads customers)",
            Role::Staff => "职员 staff (own leads and tasks)",
        }
    }

    /// Whether a person of this role heads the department they are placed in.
    fn heads(self) -> bool {
        matches!(
            self,
            Role::Director | Role::RegionalManager | Role::TeamManager
        )
    }

    /// The role's permissions, in the shape `PUT /roles/{id}` takes.
    fn permissions(self) -> Value {
        const SALES: [&str; 10] = [
            "customers",
            "contacts",
            "followups",
            "leads",
            "opportunities",
            "contracts",
            "payment_plans",
            "payments",
            "invoices",
            "tasks",
        ];
        const MONEY: [&str; 4] = ["contracts", "payment_plans", "payments", "invoices"];
        const OFFICE: [&str; 3] = ["expenses", "leaves", "purchases"];
        let all = ["view", "create", "edit", "delete", "export", "import"];
        let work = ["view", "create", "edit"];
        let mut modules = Map::new();
        let mut grant = |names: &[&str], actions: &[&str], scope: &str| {
            for name in names {
                modules.insert(
                    name.to_string(),
                    json!({ "actions": actions, "scope": scope }),
                );
            }
        };
        match self {
            Role::Administrator => {}
            Role::Director => grant(&registry::module_names(), &all, "all"),
            Role::RegionalManager => grant(
                &SALES,
                &["view", "create", "edit", "delete", "export"],
                "department_tree",
            ),
            Role::TeamManager => grant(&SALES, &["view", "create", "edit", "export"], "department"),
            Role::Rep => grant(&SALES, &work, "own"),
            Role::Finance => {
                grant(&["customers", "contacts"], &["view"], "all");
                grant(&MONEY, &["view", "create", "edit", "export"], "all");
            }
            Role::Service => {
                grant(&["customers", "contacts", "followups"], &["view"], "all");
                grant(&["followups", "tasks"], &work, "own");
            }
            Role::Staff => grant(&["leads", "tasks"], &work, "own"),
        }
        // Everyone files their own expense claims, leave and purchase requests; managers see
        // their teams', finance every claim and purchase it pays for.
        let office_scope = match self {
            Role::RegionalManager => "department_tree",
            Role::TeamManager => "department",
            Role::Finance => "all",
            _ => "own",
        };
        if self != Role::Administrator && self != Role::Director {
            grant(&OFFICE, &work, office_scope);
            if self == Role::Finance {
                grant(&["leaves"], &work, "own");
            }
        }
        if self != Role::Administrator && self != Role::Director {
            modules.insert(
                "products".into(),
                json!({ "actions": ["view"], "scope": "all" }),
            );
        }
        Value::Object(modules)
    }
}

/// How many of whom a size employs.
pub struct Staffing {
    regions: &'static [&'static str],
    teams_per_region: usize,
    reps_per_team: usize,
    back_office: &'static [(&'static str, Role, usize)],
}

impl Staffing {
    /// 10 departments, 24 people.
    pub const SMALL: Staffing = Staffing {
        regions: &["华东", "华南"],
        teams_per_region: 2,
        reps_per_team: 3,
        back_office: &[("财务部", Role::Finance, 2), ("客服中心", Role::Service, 2)],
    };
    /// 40 departments, 500 people.
    pub const LARGE: Staffing = Staffing {
        regions: &["华北", "华东", "华南", "西南", "华中"],
        teams_per_region: 5,
        reps_per_team: 16,
        back_office: &[
            ("市场部", Role::Staff, 10),
            ("客服中心", Role::Service, 16),
            ("财务部", Role::Finance, 8),
            ("产品部", Role::Staff, 8),
            ("技术支持部", Role::Staff, 12),
            ("人力行政部", Role::Staff, 4),
            ("渠道部", Role::Staff, 6),
            ("商务部", Role::Finance, 4),
        ],
    };
}

pub struct Member {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub department_name: String,
    pub rights: Rights,
    pub actor: Actor,
}

pub struct Org {
    pub members: Vec<Member>,
    pub admin: usize,
    pub admin_password: String,
    pub staff_password: String,
    /// Who owns records, as indexes into `members`: reps many times over, managers once.
    sellers: Vec<usize>,
    /// Each team: its manager and its reps.
    teams: Vec<(usize, Vec<usize>)>,
}

impl Org {
    /// Someone who owns customers and deals: mostly reps, sometimes their managers.
    pub fn seller(&self, rng: &mut StdRng) -> usize {
        self.sellers[rng.random_range(0..self.sellers.len())]
    }

    /// A manager and one of their reps, for a task handed down.
    pub fn assignment(&self, rng: &mut StdRng) -> (usize, usize) {
        let (manager, reps) = &self.teams[rng.random_range(0..self.teams.len())];
        (*manager, reps[rng.random_range(0..reps.len())])
    }
}

struct Builder<'a> {
    conn: &'a Connection,
    rng: &'a mut StdRng,
    staff_hash: String,
    roles: Vec<(Role, i64)>,
    people: Vec<(i64, String, Role, String)>,
}

impl Builder<'_> {
    fn department(&self, name: &str, parent: Option<i64>) -> Result<i64, AppError> {
        let parent_path = match parent {
            Some(parent) => crate::org::departments::path_of(self.conn, parent)?
                .ok_or_else(AppError::not_found)?,
            None => "/".to_string(),
        };
        self.conn.execute(
            "INSERT INTO departments (name, parent_id, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?3)",
            params![name, parent, crate::time::now_ms()],
        )?;
        let id = self.conn.last_insert_rowid();
        self.conn.execute(
            "UPDATE departments SET path = ?1 WHERE id = ?2",
            params![format!("{parent_path}{id}/"), id],
        )?;
        Ok(id)
    }

    fn role_id(&mut self, role: Role) -> Result<i64, AppError> {
        if let Some((_, id)) = self.roles.iter().find(|(r, _)| *r == role) {
            return Ok(*id);
        }
        let name = role.label().split(' ').next().unwrap_or_default();
        self.conn.execute(
            "INSERT INTO roles (name, permissions, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
            params![name, role.permissions().to_string(), crate::time::now_ms()],
        )?;
        let id = self.conn.last_insert_rowid();
        self.roles.push((role, id));
        Ok(id)
    }

    fn person(
        &mut self,
        username: String,
        role: Role,
        department: (i64, &str),
    ) -> Result<(), AppError> {
        let display_name = words::person(self.rng);
        let id = users::create(
            self.conn,
            &username,
            &display_name,
            &self.staff_hash,
            false,
            None,
        )?;
        let role_id = self.role_id(role)?;
        self.conn.execute(
            "UPDATE users SET department_id = ?1 WHERE id = ?2",
            params![department.0, id],
        )?;
        self.conn.execute(
            "INSERT INTO user_roles (user_id, role_id) VALUES (?1, ?2)",
            params![id, role_id],
        )?;
        if role.heads() {
            self.conn.execute(
                "UPDATE departments SET head_id = ?1 WHERE id = ?2",
                params![id, department.0],
            )?;
        }
        self.people
            .push((id, username, role, department.1.to_string()));
        Ok(())
    }
}

fn password() -> String {
    format!("Demo-{}", Alphanumeric.sample_string(&mut rand::rng(), 10))
}

/// Sets the company up and hires everyone, as of `founded`.
pub fn build(
    conn: &Connection,
    staffing: &Staffing,
    rng: &mut StdRng,
    founded: i64,
) -> Result<Org, AppError> {
    as_of(founded, || hire(conn, staffing, rng))
}

fn hire(conn: &Connection, staffing: &Staffing, rng: &mut StdRng) -> Result<Org, AppError> {
    if !setup::is_needed(conn)? {
        return Err(AppError::conflict("already_set_up"));
    }
    let admin_password = password();
    let staff_password = password();
    let input = SetupInput {
        company: COMPANY.into(),
        username: "admin".into(),
        display_name: "系统管理员".into(),
        password: admin_password.clone(),
        language: Lang::ZhCn,
        timezone: "Asia/Shanghai".into(),
        currency: "CNY".into(),
    };
    let admin_id = setup::perform(conn, &input, &passwords::hash(&admin_password)?)?;
    let mut b = Builder {
        conn,
        rng,
        staff_hash: passwords::hash(&staff_password)?,
        roles: Vec::new(),
        people: vec![(
            admin_id,
            "admin".into(),
            Role::Administrator,
            "总经办".into(),
        )],
    };
    let head_office = b.department("总经办", None)?;
    conn.execute(
        "UPDATE users SET department_id = ?1 WHERE id = ?2",
        params![head_office, admin_id],
    )?;
    conn.execute(
        "UPDATE departments SET head_id = ?1 WHERE id = ?2",
        params![admin_id, head_office],
    )?;
    let centre = b.department("销售中心", None)?;
    b.person("director".into(), Role::Director, (centre, "销售中心"))?;
    let mut teams_made = Vec::new();
    for (r, region) in staffing.regions.iter().enumerate() {
        let name = format!("{region}大区");
        let region_id = b.department(&name, Some(centre))?;
        b.person(
            format!("rm{:02}", r + 1),
            Role::RegionalManager,
            (region_id, &name),
        )?;
        for t in 0..staffing.teams_per_region {
            let name = format!("{region}{}部", ["一", "二", "三", "四", "五", "六"][t % 6]);
            let team = b.department(&name, Some(region_id))?;
            b.person(
                format!("tm{:02}", teams_made.len() + 1),
                Role::TeamManager,
                (team, &name),
            )?;
            let manager = b.people.len() - 1;
            let mut reps = Vec::new();
            for _ in 0..staffing.reps_per_team {
                let serial = b.people.iter().filter(|p| p.2 == Role::Rep).count() + 1;
                b.person(format!("sales{serial:03}"), Role::Rep, (team, &name))?;
                reps.push(b.people.len() - 1);
            }
            teams_made.push((manager, reps));
        }
    }
    for (name, role, count) in staffing.back_office {
        let department = b.department(name, None)?;
        for _ in 0..*count {
            let prefix = match role {
                Role::Finance => "finance",
                Role::Service => "service",
                _ => "staff",
            };
            let serial = b.people.iter().filter(|p| p.2 == *role).count() + 1;
            b.person(format!("{prefix}{serial:02}"), *role, (department, name))?;
        }
    }
    let mut members = Vec::with_capacity(b.people.len());
    for (id, username, role, department_name) in b.people {
        members.push(Member {
            rights: Rights::load(conn, id)?,
            actor: Actor {
                user_id: Some(id),
                username: Some(username.clone()),
                ip: None,
            },
            id,
            username,
            role,
            department_name,
        });
    }
    let mut sellers = Vec::new();
    for (index, member) in members.iter().enumerate() {
        let weight = match member.role {
            Role::Rep => 8,
            Role::TeamManager | Role::RegionalManager => 1,
            _ => 0,
        };
        sellers.extend(std::iter::repeat_n(index, weight));
    }
    Ok(Org {
        admin: 0,
        members,
        admin_password,
        staff_password,
        sellers,
        teams: teams_made,
    })
}
