//! The export formats of the CRMs a company leaves (WukongCRM, EspoCRM, SuiteCRM, Salesforce):
//! a file whose headers carry a format's signature is mapped from the format's own column list
//! without asking, and its picklist values are read as ours. The business declares the formats
//! (`crm::moving_in`); the engine recognises them and applies them.

/// One export of another system, for one of our entities.
pub struct Format {
    /// The system, as `import_format.SYSTEM` names it to people (悟空CRM).
    pub system: &'static str,
    pub entity: &'static str,
    /// Headers every such file has, together enough to tell it from other files.
    pub signature: &'static [&'static str],
    /// The file's header and the field it fills (`owner_id` for the owner, "" for a column of
    /// theirs we keep nothing of), in groups (a system's own columns of every export, shared).
    /// Where two headers name one field, the first listed fills it and the other stands in for
    /// it in a row where it is empty (a customer's 电话, else 手机).
    pub columns: &'static [&'static [(&'static str, &'static str)]],
    /// A picklist field, a value of theirs, and ours, in groups (shared between exports).
    pub values: &'static [&'static [(&'static str, &'static str, &'static str)]],
}

/// A header as formats compare it: without a required-column star, any case.
pub fn header_key(header: &str) -> String {
    header.trim().trim_start_matches('*').trim().to_lowercase()
}

impl Format {
    /// Whether a file with these headers is this format's.
    fn fits(&self, keys: &[String]) -> bool {
        self.signature
            .iter()
            .all(|wanted| keys.contains(&header_key(wanted)))
    }

    fn columns(&self) -> impl Iterator<Item = &(&'static str, &'static str)> {
        self.columns.iter().flat_map(|group| group.iter())
    }

    /// The field a header of theirs is, when the format knows the header.
    fn field_of(&self, header: &str) -> Option<&'static str> {
        let key = header_key(header);
        self.columns()
            .find(|(h, _)| header_key(h) == key)
            .map(|(_, field)| *field)
    }

    /// The field `header` fills, when the format knows the header: `Some("")` for a column
    /// the format leaves out, or one that only stands in for another header of the file.
    pub fn field_for(&self, header: &str, headers: &[String]) -> Option<&'static str> {
        let field = self.field_of(header)?;
        let first = self
            .columns()
            .filter(|(_, f)| *f == field)
            .find(|(h, _)| {
                headers
                    .iter()
                    .any(|other| header_key(other) == header_key(h))
            })
            .is_some_and(|(h, _)| header_key(h) == header_key(header));
        Some(if first || field.is_empty() { field } else { "" })
    }

    /// For each column of `headers` the mapping sends to `field`, the other columns that
    /// stand in for it where it is empty: those the format reads as the same field.
    pub fn stand_ins(&self, headers: &[String], column: usize) -> Vec<usize> {
        let Some(field) = self.field_of(&headers[column]).filter(|f| !f.is_empty()) else {
            return Vec::new();
        };
        (0..headers.len())
            .filter(|&i| i != column && self.field_of(&headers[i]) == Some(field))
            .collect()
    }

    /// Our value for a picklist value of theirs, when the format knows it.
    pub fn value(&self, field: &str, theirs: &str) -> Option<&'static str> {
        self.values
            .iter()
            .flat_map(|group| group.iter())
            .find(|(f, from, _)| *f == field && from.eq_ignore_ascii_case(theirs.trim()))
            .map(|(_, _, ours)| *ours)
    }
}

/// The format of `entity` a file with `headers` is in, if any.
pub fn recognise(entity: &str, headers: &[String]) -> Option<&'static Format> {
    let keys: Vec<String> = headers.iter().map(|h| header_key(h)).collect();
    super::super::registry::import_formats()
        .iter()
        .find(|format| format.entity == entity && format.fits(&keys))
}
