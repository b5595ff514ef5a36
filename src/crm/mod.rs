//! The business modules. Each is a descriptor on the entity engine plus its own rules.

pub mod contacts;
pub mod customers;
pub mod followups;
pub mod pool;

use crate::entity::descriptor::Entity;

/// Every entity, in menu order. A new module joins the API, the metadata, search, export and the
/// access matrix test by being listed here.
pub const ENTITIES: &[&Entity] = &[
    &customers::CUSTOMERS,
    &contacts::CONTACTS,
    &followups::FOLLOWUPS,
];

pub fn find(name: &str) -> Option<&'static Entity> {
    ENTITIES.iter().copied().find(|e| e.name == name)
}

/// Module names, as role permissions use them.
pub fn module_names() -> Vec<&'static str> {
    ENTITIES.iter().map(|e| e.name).collect()
}
