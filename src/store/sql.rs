//! Small helpers shared by the store's statements: portable placeholders and the
//! conversions between Rust values and the columns' portable encodings (epoch-ms
//! integers for timestamps, 0/1 for booleans, text for JSON and enums).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;
use zveno_connector::{Kind, SyncMode};

/// Rows per multi-row statement. Keeps a statement's bound parameters in the low
/// thousands (SQLite allows 32,766, PostgreSQL 65,535) while a 2,500-record page still
/// needs only ten round trips.
pub(crate) const ROWS_PER_STATEMENT: usize = 250;

/// Primary-key lookups per statement: `UNION ALL` branches on PostgreSQL, entries of one
/// `IN` list on SQLite (see [`lookup_sql`]).
pub(crate) const LOOKUPS_PER_STATEMENT: usize = 100;

/// `SELECT {columns}` of `count` records of one connector and kind, each found by its
/// primary key; bind connector, kind and id for each (the placeholders run in order, see
/// [`positional`]).
///
/// On PostgreSQL, one lookup per id joined with `UNION ALL`. Why not `external_id IN
/// (...)`: PostgreSQL's estimate for `connector = $1 AND kind = $2` comes from table
/// statistics, which a fresh table (a new database, or a new connector on an old one, until
/// autovacuum re-analyses) does not have; it then plans a scan of the whole
/// connector-and-kind key range with the id list as a filter, so every lookup costs as
/// much as everything already stored. A branch naming the full primary key is a
/// unique-index probe whatever the statistics say.
///
/// On SQLite, one row-value `IN` list of the whole keys, which SQLite plans as a probe of
/// the primary key per list entry on a single cursor: a `UNION ALL` branch opens and
/// closes a cursor of its own (`sqlite3BtreeCursor` and `sqlite3VdbeFreeCursorNN` were
/// about 4% of a full resolution's CPU in `.ci/profile`).
pub(crate) fn lookup_sql(sqlite: bool, columns: &str, count: usize) -> String {
    if sqlite {
        return format!(
            "SELECT {columns} FROM source_records WHERE (connector, kind, external_id) IN (VALUES {})",
            row_placeholders(count, 3)
        );
    }
    (0..count)
        .map(|i| {
            let p = 3 * i;
            format!(
                "SELECT {columns} FROM source_records \
                 WHERE connector = ${} AND kind = ${} AND external_id = ${}",
                p + 1,
                p + 2,
                p + 3
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// A keyed batch update of rows known to exist, written as an upsert for the same
/// reason as [`lookup_sql`]: `ON CONFLICT` finds each row through the primary key, never
/// through a plan. Bind per row: connector, kind, id, a bigint for `last_scan_id` and a
/// bigint for `revision`. The inserted values only satisfy the table's constraints:
/// callers pass ids they just read in the same transaction, and the store never deletes
/// rows, so the insert arm never runs.
pub(crate) fn keyed_update_sql(count: usize, set: &str, condition: &str) -> String {
    let values = (0..count)
        .map(|i| {
            let p = 5 * i;
            format!("(${}, ${}, ${}, 'none', 'null', 0, 0, ${}, 0, ${})", p + 1, p + 2, p + 3, p + 4, p + 5)
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO source_records (connector, kind, external_id, payload_hash, raw, \
           first_seen_at, synced_at, last_scan_id, missed_scans, revision) \
         VALUES {values} \
         ON CONFLICT (connector, kind, external_id) DO UPDATE SET {set} WHERE {condition}"
    )
}

/// `$first, $first+1, ..., $first+count-1`.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    let mut out = String::with_capacity(count * 6);
    for i in 0..count {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('$');
        out.push_str(&(first + i).to_string());
    }
    out
}

/// `rows` rows of `width` placeholders each, numbered from `$1`: `($1, $2), ($3, $4)`,
/// the `VALUES` of a multi-row insert.
pub(crate) fn row_placeholders(rows: usize, width: usize) -> String {
    (0..rows).map(|r| format!("({})", placeholders(r * width + 1, width))).collect::<Vec<_>>().join(", ")
}

/// The text of a generated statement for `conn`'s database (see [`positional`]): built by
/// `build` the first time a `(name, rows)` pair is asked for, then shared.
///
/// Why: the store's batch statements are a few hundred rows of placeholders, and writing
/// one out (a `format!` and a number-to-text per placeholder, then the rewrite to `?`) cost
/// more allocations than the rows they carry. A page commit asks for the same few shapes
/// over and over (full chunks of 100 or 250 rows, and the remainder), so they are built
/// once per process. At most [`STATEMENT_TEXTS`] texts are kept; past that (an
/// incremental workload with every remainder size) a text is built and not kept.
pub(crate) fn statement(
    conn: &AnyConnection,
    name: &'static str,
    rows: usize,
    build: impl FnOnce() -> String,
) -> Arc<str> {
    statement_for(conn.backend_name() == "SQLite", name, rows, build)
}

/// [`statement`] for a query run on a pool rather than a connection: `sqlite` says which
/// database it is for.
pub(crate) fn statement_for(sqlite: bool, name: &'static str, rows: usize, build: impl FnOnce() -> String) -> Arc<str> {
    static TEXTS: LazyLock<Mutex<Texts>> = LazyLock::new(Mutex::default);
    let key = (name, rows, sqlite);
    if let Some(text) = TEXTS.lock().ok().and_then(|t| t.get(&key).cloned()) {
        return text;
    }
    let built = build();
    let text: Arc<str> = positional(sqlite, &built).into();
    if let Ok(mut texts) = TEXTS.lock() {
        if texts.len() < STATEMENT_TEXTS {
            texts.insert(key, Arc::clone(&text));
        }
    }
    text
}

/// [`statement`]'s texts by name, rows and whether they are for SQLite.
type Texts = HashMap<(&'static str, usize, bool), Arc<str>>;

/// How many statement texts [`statement`] keeps (a few MiB at most).
const STATEMENT_TEXTS: usize = 128;

/// On SQLite, a statement whose placeholders run `$1, $2, $3, ...` in the order they
/// appear, each once, with every `$N` turned into an anonymous `?` (for PostgreSQL, or
/// any other statement, `sql` unchanged).
///
/// Why: to bind a value, sqlx asks SQLite for each parameter's name, and SQLite finds a
/// name by walking the statement's list of names from the start, so binding a statement
/// with *n* named parameters takes time in *n²*: 13% of a whole sync's CPU went there with
/// 2,500-parameter upserts. Anonymous `?` parameters have no name to look up, and sqlx
/// gives the *k*-th of them the *k*-th bound value — exactly what `$k` received when the
/// *k*-th placeholder is `$k`.
pub(crate) fn positional(sqlite: bool, sql: &str) -> Cow<'_, str> {
    if !sqlite || !sql.contains('$') {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let mut expected = 1_usize;
    let mut quoted = false;
    let mut chars = sql.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
        }
        if c != '$' || quoted {
            out.push(c);
            continue;
        }
        let digits = sql[i + 1..].bytes().take_while(u8::is_ascii_digit).count();
        match sql[i + 1..i + 1 + digits].parse::<usize>() {
            Ok(n) if n == expected => {
                out.push('?');
                expected += 1;
                for _ in 0..digits {
                    chars.next();
                }
            }
            // Reused or out of order: numbered parameters are still correct, only slower.
            _ => return Cow::Borrowed(sql),
        }
    }
    Cow::Owned(out)
}

/// Epoch milliseconds, the stored form of every timestamp.
pub(crate) fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// Reads a stored timestamp back.
pub(crate) fn from_ms(ms: i64) -> Result<DateTime<Utc>, String> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| format!("timestamp {ms} is out of range"))
}

/// Reads a stored optional timestamp back.
pub(crate) fn from_ms_opt(ms: Option<i64>) -> Result<Option<DateTime<Utc>>, String> {
    ms.map(from_ms).transpose()
}

/// Counters are `u64` in Rust and `BIGINT` in the database.
pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A stored counter; negative values (which the store never writes) read as zero.
pub(crate) fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

pub(crate) fn parse_kind(s: &str) -> Result<Kind, String> {
    s.parse()
}

pub(crate) fn parse_mode(s: &str) -> Result<SyncMode, String> {
    match s {
        "full" => Ok(SyncMode::Full),
        "incremental" => Ok(SyncMode::Incremental),
        other => Err(format!("unknown sync mode {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_from_the_first() {
        assert_eq!(placeholders(3, 3), "$3, $4, $5");
        assert_eq!(placeholders(1, 0), "");
        assert_eq!(row_placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }

    #[test]
    fn sqlite_gets_anonymous_parameters_when_they_run_in_order() {
        assert_eq!(positional(true, "SELECT 1"), "SELECT 1");
        assert_eq!(positional(false, "SELECT $1"), "SELECT $1");
        assert_eq!(positional(true, "x = $1 AND y = $2 AND z = $3"), "x = ? AND y = ? AND z = ?");
        // A placeholder inside a string literal is text, not a parameter.
        assert_eq!(positional(true, "SELECT '$1', $1, $2"), "SELECT '$1', ?, ?");
        // Reused or out of order: left numbered.
        assert_eq!(positional(true, "x = $1 OR y = $1"), "x = $1 OR y = $1");
        assert_eq!(positional(true, "x = $2 AND y = $1"), "x = $2 AND y = $1");
        assert!(matches!(positional(true, &placeholders(1, 300)), Cow::Owned(s) if !s.contains('$')));
    }

    #[test]
    fn timestamps_round_trip_at_millisecond_precision() {
        let at = DateTime::from_timestamp_millis(1_700_000_000_123).unwrap_or_default();
        assert_eq!(from_ms(ms(at)), Ok(at));
        assert!(from_ms(i64::MAX).is_err());
    }
}
