//! A record's rows in its entity's full-text indexes, rewritten with every write.

use crate::db::Cached;
use crate::entity::descriptor::{Entity, Field};
use rusqlite::types::Value as Sql;
use rusqlite::{params_from_iter, Connection};

/// Writes the record's rows in the entity's full-text indexes (trigrams of every searchable
/// text, pairs of the short ones), in the caller's transaction; a record just created has no
/// rows to remove first.
///
/// Plain `INSERT … VALUES`, never `INSERT … SELECT`: a statement that may write several rows of
/// a virtual table opens a statement savepoint, and FTS5 writes its pending terms to disk at
/// every savepoint, so a transaction of many records would leave a tiny index segment per
/// record to merge (most of the demo generator's time went there).
pub(super) fn reindex(
    conn: &Connection,
    entity: &Entity,
    id: i64,
    created: bool,
) -> rusqlite::Result<()> {
    let searchable: Vec<&Field> = entity.searchable().collect();
    let has_custom = entity.searchable_custom().next().is_some();
    if searchable.is_empty() && !has_custom {
        return Ok(());
    }
    let select: Vec<String> = searchable
        .iter()
        .map(|f| f.column("t"))
        .chain([crate::entity::custom::search_text(entity, "t")])
        .collect();
    let texts: Vec<Option<String>> = conn.one(
        &format!(
            "SELECT {} FROM {} t WHERE t.id = ?1",
            select.join(", "),
            entity.name
        ),
        [id],
        |r| (0..select.len()).map(|i| r.get(i)).collect(),
    )?;
    let trigram_columns: Vec<&str> = searchable
        .iter()
        .map(|f| f.name)
        .chain(["custom"])
        .collect();
    replace_index_row(
        conn,
        &entity.fts_table(),
        &trigram_columns,
        id,
        &texts,
        created,
    )?;
    let pair_columns = crate::entity::bigrams::columns(entity);
    if pair_columns.len() == 1 && !has_custom {
        return Ok(());
    }
    let pairs: Vec<Option<String>> = pair_columns
        .iter()
        .map(|name| {
            let at = trigram_columns.iter().position(|c| c == name)?;
            let mut tokens = String::new();
            crate::entity::bigrams::tokens(texts[at].as_deref()?, &mut tokens);
            Some(tokens)
        })
        .collect();
    replace_index_row(
        conn,
        &entity.bigram_table(),
        &pair_columns,
        id,
        &pairs,
        created,
    )
}

/// Deletes (unless `created`) and writes the row `id` of the full-text table `table`.
fn replace_index_row(
    conn: &Connection,
    table: &str,
    columns: &[&str],
    id: i64,
    values: &[Option<String>],
    created: bool,
) -> rusqlite::Result<()> {
    if !created {
        conn.run(&format!("DELETE FROM {table} WHERE rowid = ?1"), [id])?;
    }
    let slots: Vec<String> = (2..=columns.len() + 1).map(|i| format!("?{i}")).collect();
    let mut bound = vec![Sql::Integer(id)];
    bound.extend(
        values
            .iter()
            .map(|v| v.clone().map_or(Sql::Null, Sql::Text)),
    );
    conn.run(
        &format!(
            "INSERT INTO {table} (rowid, {}) VALUES (?1, {})",
            columns.join(", "),
            slots.join(", ")
        ),
        params_from_iter(bound),
    )?;
    Ok(())
}
