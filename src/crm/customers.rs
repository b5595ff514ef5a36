//! Customers (客户): companies or individuals, owned by a sales rep and their department.

use crate::entity::descriptor::{Entity, Field, Kind, Visibility};

pub const CUSTOMERS: Entity = Entity {
    name: "customers",
    fields: &[
        Field::new("name", Kind::Text { max: 200 })
            .required()
            .searchable()
            .sortable(),
        Field::new("kind", Kind::Picklist),
        Field::new("level", Kind::Picklist).sortable(),
        Field::new("stage", Kind::Picklist).sortable(),
        Field::new("industry", Kind::Picklist),
        Field::new("size", Kind::Picklist),
        Field::new("source", Kind::Picklist),
        Field::new("tags", Kind::Tags).searchable(),
        Field::new("phone", Kind::Phone).searchable().sortable(),
        Field::new("email", Kind::Email).searchable().sortable(),
        Field::new("website", Kind::Url).searchable(),
        Field::new("region", Kind::Text { max: 100 }).searchable(),
        Field::new("address", Kind::Text { max: 300 }).searchable(),
        Field::new("notes", Kind::LongText),
        Field::new("last_followup_at", Kind::DateTime)
            .system()
            .sortable(),
        Field::new("next_followup_at", Kind::DateTime)
            .system()
            .sortable(),
    ],
    visibility: Visibility::Owned,
    title: "name",
    subtitle: "region",
    list_columns: &[
        "name",
        "level",
        "stage",
        "phone",
        "owner_id",
        "next_followup_at",
        "updated_at",
    ],
    default_sort: "-updated_at",
    after_write: None,
};
