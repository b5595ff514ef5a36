//! Access control in one place: a caller's roles become, per module, the allowed actions, a data
//! scope and field restrictions; the scope becomes one SQL predicate over `owner_id` /
//! `department_id`. The entity engine asks this module for every query and write, so a handler
//! has no way to read a record table around it.
//!
//! Rights are loaded from the database at each request (one small query), so a role or
//! department change takes effect on the caller's next request, without signing in again.

pub mod roles;

use crate::db::memo::Memo;
use crate::db::{locked, Cached};
use crate::http::error::AppError;
use rusqlite::{Connection, OptionalExtension};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    View,
    Create,
    Edit,
    Delete,
    Export,
    Import,
}

impl Action {
    pub const ALL: [Action; 6] = [
        Action::View,
        Action::Create,
        Action::Edit,
        Action::Delete,
        Action::Export,
        Action::Import,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Action::View => "view",
            Action::Create => "create",
            Action::Edit => "edit",
            Action::Delete => "delete",
            Action::Export => "export",
            Action::Import => "import",
        }
    }

    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// Which records of a module a role reaches, narrowest first (the order is used for "widest").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    Own,
    Department,
    DepartmentTree,
    All,
}

impl Scope {
    pub const ALL: [Scope; 4] = [
        Scope::Own,
        Scope::Department,
        Scope::DepartmentTree,
        Scope::All,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scope::Own => "own",
            Scope::Department => "department",
            Scope::DepartmentTree => "department_tree",
            Scope::All => "all",
        }
    }

    pub fn parse(name: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// A field a role restricts. Where roles disagree, the freer one wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FieldAccess {
    Hidden,
    ReadOnly,
    Full,
}

impl FieldAccess {
    pub fn name(self) -> &'static str {
        match self {
            FieldAccess::Hidden => "hidden",
            FieldAccess::ReadOnly => "read_only",
            FieldAccess::Full => "full",
        }
    }

    pub fn parse(name: &str) -> Option<FieldAccess> {
        [
            FieldAccess::Hidden,
            FieldAccess::ReadOnly,
            FieldAccess::Full,
        ]
        .into_iter()
        .find(|f| f.name() == name)
    }
}

/// One module's rights, merged over all of a user's roles.
#[derive(Debug, Clone)]
pub struct ModuleRights {
    actions: u8,
    pub scope: Scope,
    /// Restricted fields only; a field not listed is fully accessible.
    fields: HashMap<String, FieldAccess>,
}

impl ModuleRights {
    fn everything() -> ModuleRights {
        ModuleRights {
            actions: u8::MAX,
            scope: Scope::All,
            fields: HashMap::new(),
        }
    }

    pub fn allows(&self, action: Action) -> bool {
        self.actions & action.bit() != 0
    }

    pub fn field(&self, name: &str) -> FieldAccess {
        self.fields.get(name).copied().unwrap_or(FieldAccess::Full)
    }

    /// Adds what another role grants: actions are united, the widest scope wins, and a field
    /// stays restricted only as far as every granting role restricts it.
    fn merge(&mut self, other: ModuleRights) {
        self.actions |= other.actions;
        self.scope = self.scope.max(other.scope);
        self.fields.retain(|name, access| {
            let theirs = other.field(name);
            *access = (*access).max(theirs);
            *access != FieldAccess::Full
        });
    }

    pub fn json(&self) -> Value {
        let actions: Vec<&str> = Action::ALL
            .into_iter()
            .filter(|a| self.allows(*a))
            .map(Action::name)
            .collect();
        let fields: Map<String, Value> = self
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), json!(v.name())))
            .collect();
        json!({ "actions": actions, "scope": self.scope.name(), "fields": fields })
    }
}

/// Parses one role's stored `permissions` JSON (validated when the role was saved).
fn parse_module(value: &Value) -> ModuleRights {
    let actions = value["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str().and_then(Action::parse))
        .fold(0u8, |bits, a| bits | a.bit());
    let scope = value["scope"]
        .as_str()
        .and_then(Scope::parse)
        .unwrap_or(Scope::Own);
    let fields = value["fields"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str().and_then(FieldAccess::parse)?)))
        .filter(|(_, access)| *access != FieldAccess::Full)
        .collect();
    ModuleRights {
        actions,
        scope,
        fields,
    }
}

/// Rights per module name.
type Modules = HashMap<String, ModuleRights>;

/// One role's stored `permissions` JSON, parsed per module. Rights are loaded on every request
/// and parsing cost more than the query, so parsed permissions are kept by their text: an edited
/// role has new text and is parsed afresh.
fn parsed_permissions(permissions: &str) -> Arc<Modules> {
    /// More distinct texts than roles ever exist at once; past it the cache starts over.
    const KEPT: usize = 256;
    static PARSED: OnceLock<Mutex<HashMap<String, Arc<Modules>>>> = OnceLock::new();
    let mut parsed = locked(PARSED.get_or_init(Default::default));
    if let Some(modules) = parsed.get(permissions) {
        return modules.clone();
    }
    let value: Value = serde_json::from_str(permissions).unwrap_or_default();
    let modules: Arc<Modules> = Arc::new(
        value
            .as_object()
            .into_iter()
            .flatten()
            .map(|(module, rights)| (module.clone(), parse_module(rights)))
            .collect(),
    );
    if parsed.len() >= KEPT {
        parsed.clear();
    }
    parsed.insert(permissions.to_string(), modules.clone());
    modules
}

/// The union of several roles' rights, module by module.
fn merged(roles: impl Iterator<Item = Arc<Modules>>) -> Modules {
    let mut modules = Modules::new();
    for role in roles {
        for (module, rights) in role.iter() {
            match modules.get_mut(module) {
                Some(existing) => existing.merge(rights.clone()),
                None => {
                    modules.insert(module.clone(), rights.clone());
                }
            }
        }
    }
    modules
}

/// Everything the engine needs to know about a caller to filter and check their requests.
#[derive(Debug, Clone)]
pub struct Rights {
    pub user_id: i64,
    pub is_admin: bool,
    pub department_id: Option<i64>,
    /// The caller's department and every department under it.
    pub department_tree: Vec<i64>,
    modules: Arc<Modules>,
}

impl Rights {
    /// Reads the caller's department and roles as they are now.
    pub fn load(conn: &Connection, user_id: i64) -> Result<Rights, AppError> {
        let (department_id, path): (Option<i64>, Option<String>) = conn
            .one(
                "SELECT u.department_id, d.path FROM users u
                 LEFT JOIN departments d ON d.id = u.department_id WHERE u.id = ?1",
                [user_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(AppError::unauthenticated)?;
        let department_tree = match path {
            Some(path) => subtree_ids(conn, &path)?,
            None => Vec::new(),
        };
        let mut stmt = conn.prepare_cached(
            "SELECT r.builtin, r.permissions FROM roles r
             JOIN user_roles ur ON ur.role_id = r.id WHERE ur.user_id = ?1",
        )?;
        let roles = stmt
            .query_map([user_id], |r| {
                Ok((r.get::<_, Option<String>>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let is_admin = roles
            .iter()
            .any(|(builtin, _)| builtin.as_deref() == Some("administrator"));
        let modules = match roles.as_slice() {
            [(_, permissions)] => parsed_permissions(permissions),
            _ => Arc::new(merged(roles.iter().map(|(_, p)| parsed_permissions(p)))),
        };
        Ok(Rights {
            user_id,
            is_admin,
            department_id,
            department_tree,
            modules,
        })
    }

    /// `load`, kept in `memo` until one of the tables rights are read from changes (a person's
    /// department, the tree, their roles or a role's permissions): the lists and records people
    /// open most start here.
    pub fn kept(conn: &Connection, memo: &Memo, user_id: i64) -> Result<Rights, AppError> {
        const TABLES: [&str; 4] = ["users", "departments", "user_roles", "roles"];
        memo.answer(&TABLES, format!("rights {user_id}"), || {
            Rights::load(conn, user_id)
        })
    }

    /// Sees everything: for reading back what a request has just written, never for answering
    /// what a caller may see.
    pub fn system() -> Rights {
        Rights {
            user_id: 0,
            is_admin: true,
            department_id: None,
            department_tree: Vec::new(),
            modules: Arc::default(),
        }
    }

    /// Everything, on behalf of `user_id` (who is recorded as the writer): for undoing what
    /// that user's own import did, which their current rights must not prevent.
    pub fn system_for(user_id: i64) -> Rights {
        Rights {
            user_id,
            ..Rights::system()
        }
    }

    /// The caller's rights on a module (administrators hold everything).
    pub fn module(&self, module: &str) -> Option<ModuleRights> {
        if self.is_admin {
            return Some(ModuleRights::everything());
        }
        self.modules.get(module).cloned()
    }

    pub fn can(&self, module: &str, action: Action) -> bool {
        self.module(module).is_some_and(|m| m.allows(action))
    }

    /// The module's rights when `action` is allowed, else 403 `forbidden`.
    pub fn require(&self, module: &str, action: Action) -> Result<ModuleRights, AppError> {
        self.module(module)
            .filter(|m| m.allows(action))
            .ok_or_else(AppError::forbidden)
    }

    /// The SQL condition that admits exactly the records of `module` the caller may see, for a
    /// table aliased `alias` with `owner_id` and `department_id` columns. Only integers taken
    /// from the database are written into it. A caller always reaches what they own. The scope
    /// bounds every action; whether an action is allowed at all is `require`'s question.
    pub fn scope_predicate(&self, module: &str, alias: &str) -> String {
        let scope = match self.module(module) {
            Some(rights) if rights.actions != 0 => rights.scope,
            _ => return "0".into(),
        };
        let own = format!("{alias}.owner_id = {}", self.user_id);
        let departments = match scope {
            Scope::All => return "1".into(),
            Scope::Own => return own,
            Scope::Department => self.department_id.into_iter().collect(),
            Scope::DepartmentTree => self.department_tree.clone(),
        };
        if departments.is_empty() {
            return own;
        }
        let list = departments
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        format!("({own} OR {alias}.department_id IN ({list}))")
    }

    /// Whether `user` (with department `department`) is someone the caller may hand a record
    /// of `module` to: the same reach as the caller's scope.
    pub fn may_assign_to(&self, module: &str, user: i64, department: Option<i64>) -> bool {
        let Some(rights) = self.module(module) else {
            return false;
        };
        match rights.scope {
            Scope::All => true,
            Scope::Own => user == self.user_id,
            Scope::Department => user == self.user_id || department == self.department_id,
            Scope::DepartmentTree => {
                user == self.user_id
                    || department.is_some_and(|d| self.department_tree.contains(&d))
            }
        }
    }

    /// `permissions` for `/auth/me` and `/meta`: every module the caller holds rights on.
    pub fn json(&self, modules: &[&str]) -> Value {
        let map: Map<String, Value> = modules
            .iter()
            .filter_map(|m| Some((m.to_string(), self.module(m)?.json())))
            .collect();
        Value::Object(map)
    }
}

/// The ids of the department at `path` and of every department below it: one range scan on the
/// `departments(path)` index. '0' is the character after '/', so `[path, path with its last '/'
/// replaced by '0')` is exactly the paths that start with `path`.
pub fn subtree_ids(conn: &Connection, path: &str) -> rusqlite::Result<Vec<i64>> {
    let end = format!("{}0", path.trim_end_matches('/'));
    let mut stmt =
        conn.prepare_cached("SELECT id FROM departments WHERE path >= ?1 AND path < ?2")?;
    let ids = stmt
        .query_map([path, end.as_str()], |r| r.get(0))?
        .collect();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rights(actions: &[Action], scope: Scope, fields: &[(&str, FieldAccess)]) -> ModuleRights {
        ModuleRights {
            actions: actions.iter().fold(0, |b, a| b | a.bit()),
            scope,
            fields: fields.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    #[test]
    fn merging_roles_takes_the_union_and_the_freer_field() {
        let mut a = rights(
            &[Action::View],
            Scope::Own,
            &[
                ("phone", FieldAccess::Hidden),
                ("email", FieldAccess::Hidden),
            ],
        );
        a.merge(rights(
            &[Action::Edit],
            Scope::DepartmentTree,
            &[("phone", FieldAccess::ReadOnly)],
        ));
        assert!(a.allows(Action::View) && a.allows(Action::Edit) && !a.allows(Action::Delete));
        assert_eq!(a.scope, Scope::DepartmentTree);
        assert_eq!(a.field("phone"), FieldAccess::ReadOnly);
        assert_eq!(a.field("email"), FieldAccess::Full);
    }

    #[test]
    fn predicates_per_scope() {
        let mut modules = HashMap::new();
        modules.insert(
            "customers".to_string(),
            rights(&[Action::View], Scope::Department, &[]),
        );
        let caller = Rights {
            user_id: 7,
            is_admin: false,
            department_id: Some(3),
            department_tree: vec![3, 5],
            modules: Arc::new(modules),
        };
        assert_eq!(
            caller.scope_predicate("customers", "t"),
            "(t.owner_id = 7 OR t.department_id IN (3))"
        );
        assert_eq!(caller.scope_predicate("contacts", "t"), "0");
        assert!(caller.may_assign_to("customers", 9, Some(3)));
        assert!(!caller.may_assign_to("customers", 9, Some(5)));
    }
}
