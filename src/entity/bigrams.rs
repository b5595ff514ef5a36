//! One- and two-character search. Chinese names are often two characters (张伟, 华为), and the
//! trigram index cannot see words shorter than three. The short searchable texts (names,
//! titles, numbers, addresses, tags, custom fields; `Entity::pair_searchable`) are therefore
//! also kept in a second full-text table, `{table}_bigrams`, one column each, as their
//! character pairs plus each run's last character (so one character finds a name too): an index
//! lookup instead of reading every row with LIKE. Words of three characters or more keep using
//! the trigram index.

use super::descriptor::Entity;
use rusqlite::functions::FunctionFlags;
use rusqlite::Connection;

/// The pairs index's columns for `entity`: its short searchable texts, then `custom`.
pub fn columns(entity: &Entity) -> Vec<&'static str> {
    entity
        .pair_searchable()
        .map(|f| f.name)
        .chain(["custom"])
        .collect()
}

/// `INSERT OR REPLACE` of the pairs-index rows of the records of `entity` matching `condition`
/// (over the table aliased `t`).
pub fn insert_sql(entity: &Entity, condition: &str) -> String {
    let values: Vec<String> = entity
        .pair_searchable()
        .map(|f| format!("kehu_bigrams({})", f.column("t")))
        .chain([format!(
            "kehu_bigrams({})",
            super::custom::search_text(entity, "t")
        )])
        .collect();
    format!(
        "INSERT OR REPLACE INTO {} (rowid, {}) SELECT t.id, {} FROM {} t WHERE {condition}",
        entity.bigram_table(),
        columns(entity).join(", "),
        values.join(", "),
        entity.name
    )
}

/// The tokens of one value: every pair of adjacent letters or digits, and the last character
/// of each run, lower-cased and separated by spaces (FTS5's unicode61 tokenizer splits them).
pub fn tokens(text: &str, out: &mut String) {
    for run in text.split(|c: char| !c.is_alphanumeric()) {
        let chars: Vec<char> = run.chars().flat_map(char::to_lowercase).collect();
        for pair in chars.windows(2) {
            out.extend([' ', pair[0], pair[1]]);
        }
        if let Some(last) = chars.last() {
            out.extend([' ', *last]);
        }
    }
}

/// The FTS5 query for a word of one or two characters: each pair must be there; a single
/// character is a prefix of some pair (or a run's last character). `None` when the word has no
/// letter or digit at all.
pub fn query(word: &str) -> Option<String> {
    let parts: Vec<String> = word
        .split(|c: char| !c.is_alphanumeric())
        .filter(|run| !run.is_empty())
        .map(|run| {
            let run = run.to_lowercase();
            if run.chars().count() == 1 {
                format!("\"{run}\" *")
            } else {
                format!("\"{run}\"")
            }
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(" AND "))
}

/// `kehu_bigrams(a, b, …)`: the tokens of every argument, for the statements that fill the
/// bigram tables (record writes and the migration that builds them).
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "kehu_bigrams",
        -1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let mut out = String::new();
            for i in 0..ctx.len() {
                if let Some(text) = ctx.get::<Option<String>>(i)? {
                    tokens(&text, &mut out);
                }
            }
            Ok(out)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every entity's pairs table has exactly the columns its descriptor says, in order.
    #[test]
    fn each_entity_has_its_pairs_table() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::app::install();
        crate::db::migrations::apply_up_to(&mut conn, crate::db::migrations::latest_version())
            .unwrap();
        for entity in crate::crm::ENTITIES {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT name FROM pragma_table_info('{}')",
                    entity.bigram_table()
                ))
                .unwrap();
            let found: Vec<String> = stmt
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            assert_eq!(found, columns(entity), "{}", entity.name);
        }
    }

    fn of(text: &str) -> String {
        let mut out = String::new();
        tokens(text, &mut out);
        out
    }

    #[test]
    fn pairs_and_the_last_character_of_each_run() {
        assert_eq!(of("张伟"), " 张伟 伟");
        assert_eq!(of("华为 Tech"), " 华为 为 te ec ch h");
        assert_eq!(of("王"), " 王");
        assert_eq!(of("-"), "");
    }

    #[test]
    fn short_words_become_phrase_or_prefix_queries() {
        assert_eq!(query("张伟").as_deref(), Some("\"张伟\""));
        assert_eq!(query("张").as_deref(), Some("\"张\" *"));
        assert_eq!(query("A-").as_deref(), Some("\"a\" *"));
        assert_eq!(query("\"\""), None);
    }
}
