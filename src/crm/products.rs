//! Products (产品): the catalogue that opportunity and contract lines sell, with category, unit,
//! list price and whether it is still on sale. Products are owned records like any other; a
//! sales role usually sees every product (scope "all" on this module).

use crate::entity::descriptor::{Entity, Field, Kind, Visibility};

pub const PRODUCTS: Entity = Entity {
    name: "products",
    fields: &[
        Field::new("name", Kind::Text { max: 200 })
            .required()
            .searchable()
            .sortable(),
        Field::new("code", Kind::Text { max: 60 })
            .searchable()
            .sortable(),
        Field::new("category", Kind::Picklist),
        Field::new("unit", Kind::Picklist),
        Field::new("price", Kind::Money).sortable(),
        Field::new("currency", Kind::Currency),
        Field::new("active", Kind::Bool),
        Field::new("description", Kind::LongText).searchable(),
    ],
    visibility: Visibility::Owned,
    title: "name",
    subtitle: "code",
    list_columns: &["name", "code", "category", "unit", "price", "active"],
    default_sort: "name",
    after_write: None,
    check: None,
    prepare: None,
    instructions: &[],
    pool: None,
    approval: None,
};
