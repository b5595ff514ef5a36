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
    /// A parameter may itself differ by language, as `{"zh-CN": …, "en": …}` (a picklist's
    /// labels): the reader's is used.
    pub fn text(&self, lang: Lang, key: &str, params: &Value) -> String {
        let template = self
            .tables
            .get(lang.code())
            .and_then(|table| table.get(key))
            .map(String::as_str)
            .unwrap_or(key);
        fill(template, &in_language(params, lang))
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

/// Fills `{name}` with the parameter's value, and `{name|one|other}` with `one` when the
/// parameter is 1 and `other` otherwise (English plurals: "{count} {count|day|days}"; Chinese
/// texts have no need of it). assets/js/i18n.js reads templates the same way.
fn fill(template: &str, params: &Value) -> String {
    let Some(params) = params.as_object() else {
        return template.to_string();
    };
    let template = plurals_chosen(template, params);
    params.iter().fold(template, |text, (name, value)| {
        let value = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        text.replace(&format!("{{{name}}}"), &value)
    })
}

/// `params` with each value given per language replaced by the one in `lang`.
fn in_language(params: &Value, lang: Lang) -> Value {
    let Some(map) = params.as_object() else {
        return params.clone();
    };
    map.iter()
        .map(|(name, value)| {
            let chosen = value.get(lang.code()).filter(|_| value.is_object());
            (name.clone(), chosen.unwrap_or(value).clone())
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// `template` with each `{name|one|other}` resolved by `params[name]`.
fn plurals_chosen(template: &str, params: &serde_json::Map<String, Value>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let Some(length) = rest[start..].find('}') else {
            break;
        };
        let inner = &rest[start + 1..start + length];
        out.push_str(&rest[..start]);
        let mut parts = inner.split('|');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(name), Some(one), Some(other), None) if params.contains_key(name) => {
                out.push_str(if is_one(&params[name]) { one } else { other });
            }
            _ => out.push_str(&rest[start..=start + length]),
        }
        rest = &rest[start + length + 1..];
    }
    out.push_str(rest);
    out
}

/// Whether a parameter is the number one (as a number, or as text a client formatted).
fn is_one(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.as_f64() == Some(1.0),
        Value::String(s) => s.replace([',', ' '], "").parse::<f64>().ok() == Some(1.0),
        _ => false,
    }
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
    fn english_plurals_follow_the_count() {
        let text = |params| fill("You hold {count} {count|customer|customers}", &params);
        assert_eq!(text(serde_json::json!({"count": 1})), "You hold 1 customer");
        assert_eq!(
            text(serde_json::json!({"count": 2})),
            "You hold 2 customers"
        );
        assert_eq!(
            text(serde_json::json!({"count": 0})),
            "You hold 0 customers"
        );
        assert_eq!(
            text(serde_json::json!({"count": "1"})),
            "You hold 1 customer"
        );
        assert_eq!(
            text(serde_json::json!({"count": "1,001"})),
            "You hold 1,001 customers"
        );
        assert_eq!(
            fill(
                "{SEQ:4} {x|a|b} {missing|a|b}",
                &serde_json::json!({"x": 1})
            ),
            "{SEQ:4} a {missing|a|b}",
            "other braces are left as they are"
        );
    }

    #[test]
    fn a_parameter_given_per_language_is_read_in_the_readers() {
        let params = serde_json::json!({"options": {"zh-CN": "企业", "en": "Company"}, "n": 2});
        assert_eq!(in_language(&params, Lang::En)["options"], "Company");
        assert_eq!(in_language(&params, Lang::ZhCn)["options"], "企业");
        assert_eq!(in_language(&params, Lang::En)["n"], 2);
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
