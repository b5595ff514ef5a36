//! The business modules. Each is a descriptor on the entity engine plus its own rules.

pub mod announcements;
pub mod contacts;
pub mod contracts;
pub mod customers;
pub mod followups;
pub mod inbox;
pub mod leads;
pub mod moving_in;
pub mod office;
pub mod opportunities;
pub mod payments;
pub mod pipelines;
pub mod pool;
pub mod products;
pub mod targets;
pub mod tasks;

use crate::entity::descriptor::Entity;
use crate::entity::registry::Registry;
use actix_web::web;

/// Every entity, in menu order (see `Registry::entities`).
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
    &office::EXPENSES,
    &office::LEAVES,
    &office::PURCHASES,
];

/// What the engine knows of the business: its entities and what a new company starts with.
pub fn registry() -> Registry {
    Registry {
        entities: ENTITIES,
        company_created: &[pipelines::seed_default],
        import_formats: moving_in::FORMATS,
    }
}

/// The business routes beyond the generic record API; registered before it, so that fixed paths
/// such as `/opportunities/board` are not taken for record ids.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(inbox::configure)
        .configure(announcements::configure)
        .configure(customers::configure)
        .configure(pool::configure)
        .configure(leads::configure)
        .configure(pipelines::configure)
        .configure(opportunities::configure)
        .configure(contracts::configure)
        .configure(targets::configure);
}
