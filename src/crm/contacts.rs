//! Contacts (联系人): people at a customer, visible exactly when their customer is.

use crate::entity::descriptor::{Entity, Field, Kind, Visibility};

pub const CONTACTS: Entity = Entity {
    name: "contacts",
    fields: &[
        Field::new("customer_id", Kind::Reference("customers")).required(),
        Field::new("name", Kind::Text { max: 100 })
            .required()
            .searchable()
            .sortable(),
        Field::new("title", Kind::Text { max: 100 }).searchable(),
        Field::new("phone", Kind::Phone).searchable(),
        Field::new("mobile", Kind::Phone).searchable().sortable(),
        Field::new("email", Kind::Email).searchable().sortable(),
        Field::new("wechat", Kind::Text { max: 60 }).searchable(),
        Field::new("decision_maker", Kind::Bool),
        Field::new("notes", Kind::LongText),
    ],
    visibility: Visibility::Child {
        field: "customer_id",
        parent: "customers",
    },
    title: "name",
    subtitle: "title",
    list_columns: &[
        "name",
        "customer_id",
        "title",
        "mobile",
        "email",
        "decision_maker",
    ],
    default_sort: "-updated_at",
    after_write: None,
    check: None,
    prepare: None,
    instructions: &[],
    pool: None,
    approval: None,
};
