//! The business modules. Each is a descriptor on the entity engine plus its own rules.

pub mod contacts;
pub mod contracts;
pub mod customers;
pub mod followups;
pub mod leads;
pub mod opportunities;
pub mod payments;
pub mod pipelines;
pub mod pool;
pub mod products;
pub mod targets;
pub mod tasks;

use crate::entity::descriptor::Entity;
use actix_web::web;

/// Every entity, in menu order. A new module joins the API, the metadata, search, export and the
/// access matrix test by being listed here.
pub const ENTITIES: &[&Entity] = &[
    &customers::CUSTOMERS,
    &contacts::CONTACTS,
    &followups::FOLLOWUPS,
    &leads::LEADS,
    &opportunities::OPPORTUNITIES,
    &products::PRODUCTS,
    &contracts::CONTRACTS,
    &payments::PAYMENT_PLANS,
    &payments::PAYMENTS,
    &payments::INVOICES,
    &tasks::TASKS,
];

pub fn find(name: &str) -> Option<&'static Entity> {
    ENTITIES.iter().copied().find(|e| e.name == name)
}

/// Module names, as role permissions use them.
pub fn module_names() -> Vec<&'static str> {
    ENTITIES.iter().map(|e| e.name).collect()
}

/// The business routes beyond the generic record API; registered before it, so that fixed paths
/// such as `/opportunities/board` are not taken for record ids.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(followups::configure)
        .configure(customers::configure)
        .configure(pool::configure)
        .configure(leads::configure)
        .configure(pipelines::configure)
        .configure(opportunities::configure)
        .configure(contracts::configure)
        .configure(targets::configure);
}
