//! Batch commands: `method?query` strings, with Bitrix24's PHP-style nested parameters.
//!
//! Inside a `batch`, every command is a URL query string (`filter[>ID]=5&select[]=ID`). Values
//! are URL-encoded once, and the whole batch travels as JSON, so nothing is double-encoded
//! (<https://apidocs.bitrix24.com/settings/how-to-call-rest-api/batch.html>). A value may be a
//! reference to an earlier command's answer, `$result[c0][49][ID]`: the portal substitutes it
//! after decoding, so references are encoded like any other value.

use url::form_urlencoded;

/// A batch command under construction.
#[derive(Debug, Clone)]
pub struct Command {
    /// The command's key in the batch (`c0`), which `$result[...]` references name.
    pub key: String,
    /// The REST method (`crm.company.list`).
    pub method: &'static str,
    pairs: Vec<(String, String)>,
}

impl Command {
    /// Command number `index` of a batch, calling `method`, keyed `<prefix><index>` with the
    /// index in two digits. The portal runs commands in the order sent, but the JSON body's
    /// `cmd` object goes out with its keys sorted, so keys must sort in execution order:
    /// `c02` before `c10`, where `c2` would sort after `c10` and run before the command it
    /// references (see [`crate::client::BitrixClient::batch`]).
    pub fn new(prefix: &str, index: usize, method: &'static str) -> Self {
        Self { key: key(prefix, index), method, pairs: Vec::new() }
    }

    /// Adds `name=value`.
    pub fn param(mut self, name: &str, value: impl AsRef<str>) -> Self {
        self.pairs.push((name.to_string(), value.as_ref().to_string()));
        self
    }

    /// Adds `name[]=v` for each value (a PHP list).
    pub fn list<I, S>(mut self, name: &str, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let key = format!("{name}[]");
        for v in values {
            self.pairs.push((key.clone(), v.as_ref().to_string()));
        }
        self
    }

    /// The value of parameter `name`, if set.
    pub fn param_value(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The command string: `method?query`.
    pub fn text(&self) -> String {
        let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(&self.pairs).finish();
        if query.is_empty() {
            self.method.to_string()
        } else {
            format!("{}?{query}", self.method)
        }
    }
}

/// The key of command `index` with `prefix`.
pub fn key(prefix: &str, index: usize) -> String {
    format!("{prefix}{index:02}")
}

/// A reference to field `field` of row `row` of list command `key` in the same batch
/// (`$result[c0][49][ID]`), optionally under a result key (`tasks` for `tasks.task.list`).
pub fn row_reference(key: &str, rows_under: Option<&str>, row: usize, field: &str) -> String {
    match rows_under {
        Some(under) => format!("$result[{key}][{under}][{row}][{field}]"),
        None => format!("$result[{key}][{row}][{field}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_encode_nested_keys_lists_and_references_once() {
        let cmd = Command::new("c", 1, "crm.company.list")
            .param("filter[>ID]", row_reference(&key("c", 0), None, 49, "ID"))
            .param("filter[>=DATE_MODIFY]", "2026-01-01T00:00:00+03:00")
            .list("select", ["ID", "PHONE"])
            .param("start", "-1");
        assert_eq!(
            cmd.text(),
            "crm.company.list?filter%5B%3EID%5D=%24result%5Bc00%5D%5B49%5D%5BID%5D\
             &filter%5B%3E%3DDATE_MODIFY%5D=2026-01-01T00%3A00%3A00%2B03%3A00\
             &select%5B%5D=ID&select%5B%5D=PHONE&start=-1"
        );
        assert_eq!(Command::new("u", 0, "user.get").text(), "user.get");
        assert_eq!(cmd.key, "c01");
        assert_eq!(row_reference("t0", Some("tasks"), 49, "id"), "$result[t0][tasks][49][id]");
    }
}
