//! Reading and writing records of any entity, always through the caller's rights: the
//! visibility predicate is part of every statement that reads a record table, and a record
//! outside it behaves as if it did not exist.
//!
//! Related records follow their parent: a contact or a follow-up is visible exactly when the
//! customer it belongs to is visible to the caller (under the caller's scope on the parent's
//! module, and only while the parent is not in the recycle bin). Their own module grants the
//! actions (view, create, …), not a separate scope, so what a person may see around a customer
//! never disagrees with whether they may see the customer.
//!
//! One file per concern: `visibility` (the predicate), `read` (readers and fetches), `write`
//! (what a request creates, changes, deletes and restores), `index` (the search rows every
//! write keeps) and `system` (writes the system decides). Callers use the names below.

mod index;
mod read;
mod system;
mod visibility;
mod write;

pub use read::{fetch, fetch_json, for_caller, Reader};
pub use system::{set_owner, set_system_fields, transfer_all};
pub use visibility::{is_visible, may_open, names_visible, tables_read, visible, visible_one};
pub use write::{company_currency, create, delete, owner, restore, update, Caller};
