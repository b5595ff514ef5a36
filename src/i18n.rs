//! Server-side translations, read from the same `assets/i18n/*.json` files as the UI, so an
//! error message and the screen around it always agree.

use crate::http::assets::Assets;
use serde_json::Value;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    ZhCn,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::ZhCn, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|lang| lang.code() == code)
    }

    /// The first language the browser prefers that we speak (`zh-TW` reads Simplified better
    /// than English, so every `zh` maps to `zh-CN`).
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut tags: Vec<(f32, &str)> = header
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.trim().split(';');
                let tag = pieces.next()?.trim();
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse().ok())
                    .unwrap_or(1.0);
                Some((q, tag))
            })
            .collect();
        tags.sort_by(|a, b| b.0.total_cmp(&a.0));
        tags.into_iter().find_map(|(_, tag)| {
            let primary = tag.split('-').next()?.to_ascii_lowercase();
            match primary.as_str() {
                "zh" => Some(Lang::ZhCn),
                "en" => Some(Lang::En),
                _ => None,
            }
        })
    }
}

pub struct Translations {
    tables: HashMap<&'static str, HashMap<String, String>>,
}

impl Translations {
    pub fn load() -> Result<Translations, String> {
        let mut tables = HashMap::new();
        for lang in Lang::ALL {
            let path = format!("i18n/{}.json", lang.code());
            let file = Assets::get(&path).ok_or_else(|| format!("missing embedded {path}"))?;
            let table: HashMap<String, String> = serde_json::from_slice(&file.data)
                .map_err(|e| format!("{path} is not a flat JSON object of strings: {e}"))?;
            tables.insert(lang.code(), table);
        }
        Ok(Translations { tables })
    }

    /// The text for `key` with `{name}` placeholders filled from `params`. A missing key falls
    /// back to the key itself (tests make sure none is missing).
    pub fn text(&self, lang: Lang, key: &str, params: &Value) -> String {
        let template = self
            .tables
            .get(lang.code())
            .and_then(|table| table.get(key))
            .map(String::as_str)
            .unwrap_or(key);
        fill(template, params)
    }

    pub fn keys(&self, lang: Lang) -> impl Iterator<Item = &String> {
        self.tables
            .get(lang.code())
            .into_iter()
            .flat_map(|t| t.keys())
    }
}

/// The translation files read in one language.
#[derive(Clone, Copy)]
pub struct Texts<'a> {
    pub i18n: &'a Translations,
    pub lang: Lang,
}

impl Texts<'_> {
    pub fn text(&self, key: &str) -> String {
        self.i18n.text(self.lang, key, &Value::Null)
    }
}

fn fill(template: &str, params: &Value) -> String {
    let Some(params) = params.as_object() else {
        return template.to_string();
    };
    params
        .iter()
        .fold(template.to_string(), |text, (name, value)| {
            let value = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            text.replace(&format!("{{{name}}}"), &value)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_prefers_highest_quality_supported() {
        assert_eq!(
            Lang::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"),
            Some(Lang::ZhCn)
        );
        assert_eq!(
            Lang::from_accept_language("fr;q=0.9,en-US;q=0.8,zh;q=0.5"),
            Some(Lang::En)
        );
        assert_eq!(
            Lang::from_accept_language("en;q=0.3,zh-TW"),
            Some(Lang::ZhCn)
        );
        assert_eq!(Lang::from_accept_language("fr,de"), None);
    }

    #[test]
    fn placeholders_are_filled() {
        let params = serde_json::json!({"min": 8, "name": "x"});
        assert_eq!(
            fill("at least {min} for {name}", &params),
            "at least 8 for x"
        );
    }
}
