//! The JQL subset the simulator understands, read the way Jira reads it.
//!
//! Grammar: `expr [ORDER BY field [ASC|DESC], ...]`, where `expr` combines clauses with
//! `AND`, `OR`, `NOT` and parentheses, and a clause is `field op value`:
//!
//! - fields `project`, `key`/`issuekey`, `id`, `labels`, `updated`, `created`;
//! - operators `=`, `!=`, `in`, `not in`, `>=`, `<=`, `>`, `<`;
//! - date values as quoted `yyyy/MM/dd HH:mm`, `yyyy-MM-dd HH:mm` or a bare date, read **in
//!   the account's time zone** to the minute, or unquoted epoch milliseconds.
//!
//! A query with no clause is refused as unbounded, as `/search/jql` does.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::mapping::time::read_jql_local;

/// What a clause compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Project key.
    Project,
    /// Issue key.
    Key,
    /// Issue id.
    Id,
    /// Labels (matches if any label matches).
    Labels,
    /// Last update.
    Updated,
    /// Creation.
    Created,
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `in (...)`
    In,
    /// `not in (...)`
    NotIn,
    /// `>=`
    Ge,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `<`
    Lt,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The filter.
    pub filter: Expr,
    /// Sort order, outermost first.
    pub order: Vec<(Field, bool)>,
}

/// A filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Both.
    And(Box<Expr>, Box<Expr>),
    /// Either.
    Or(Box<Expr>, Box<Expr>),
    /// Not.
    Not(Box<Expr>),
    /// Text comparison (project, key, id, labels).
    Text(Field, Op, Vec<String>),
    /// Time comparison (updated, created).
    Time(Field, Op, DateTime<Utc>),
}

/// What an issue offers to a query.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// Issue id.
    pub id: u64,
    /// Issue key (`OPS-12`).
    pub key: &'a str,
    /// Project key.
    pub project: &'a str,
    /// Labels.
    pub labels: &'a [String],
    /// Last update.
    pub updated: DateTime<Utc>,
    /// Creation.
    pub created: DateTime<Utc>,
}

impl Expr {
    /// Whether any clause compares `field`.
    pub fn uses(&self, field: Field) -> bool {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => a.uses(field) || b.uses(field),
            Expr::Not(e) => e.uses(field),
            Expr::Text(f, ..) | Expr::Time(f, ..) => *f == field,
        }
    }

    /// Whether `s` matches.
    pub fn matches(&self, s: &Subject<'_>) -> bool {
        match self {
            Expr::And(a, b) => a.matches(s) && b.matches(s),
            Expr::Or(a, b) => a.matches(s) || b.matches(s),
            Expr::Not(e) => !e.matches(s),
            Expr::Text(field, op, values) => {
                let id = s.id.to_string();
                let have: Vec<&str> = match field {
                    Field::Project => vec![s.project],
                    Field::Key => vec![s.key],
                    Field::Id => vec![id.as_str()],
                    Field::Labels => s.labels.iter().map(String::as_str).collect(),
                    Field::Updated | Field::Created => Vec::new(),
                };
                let hit = values.iter().any(|v| have.iter().any(|h| h.eq_ignore_ascii_case(v)));
                match op {
                    Op::Eq | Op::In => hit,
                    Op::Ne | Op::NotIn => !hit,
                    _ => false,
                }
            }
            Expr::Time(field, op, at) => {
                let t = if *field == Field::Updated { s.updated } else { s.created };
                match op {
                    Op::Ge => t >= *at,
                    Op::Le => t <= *at,
                    Op::Gt => t > *at,
                    Op::Lt => t < *at,
                    Op::Eq => t == *at,
                    Op::Ne => t != *at,
                    Op::In | Op::NotIn => false,
                }
            }
        }
    }
}

/// Compares two issues by `order` (then by id, so the order is total).
pub fn compare(order: &[(Field, bool)], a: &Subject<'_>, b: &Subject<'_>) -> Ordering {
    for (field, ascending) in order {
        let o = match field {
            Field::Updated => a.updated.cmp(&b.updated),
            Field::Created => a.created.cmp(&b.created),
            Field::Key => key_parts(a.key).cmp(&key_parts(b.key)),
            Field::Project => a.project.cmp(b.project),
            Field::Id => a.id.cmp(&b.id),
            Field::Labels => a.labels.cmp(b.labels),
        };
        let o = if *ascending { o } else { o.reverse() };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.id.cmp(&b.id)
}

/// `OPS-12` sorts as (`OPS`, 12), as Jira sorts keys.
fn key_parts(key: &str) -> (&str, u64) {
    match key.rsplit_once('-') {
        Some((p, n)) => (p, n.parse().unwrap_or(0)),
        None => (key, 0),
    }
}

/// Parses `jql`, reading dates in `zone`. Errors are Jira's messages.
pub fn parse(jql: &str, zone: Option<Tz>) -> Result<Query, String> {
    let tokens = tokenize(jql)?;
    let mut p = Parser { tokens, pos: 0, zone };
    let filter = if p.peek_word("order") || p.at_end() { None } else { Some(p.or_expr()?) };
    let mut order = Vec::new();
    if p.peek_word("order") {
        p.pos += 1;
        p.expect_word("by")?;
        loop {
            let field = p.field()?;
            let ascending = if p.peek_word("desc") {
                p.pos += 1;
                false
            } else {
                if p.peek_word("asc") {
                    p.pos += 1;
                }
                true
            };
            order.push((field, ascending));
            if !p.eat(&Token::Comma) {
                break;
            }
        }
        if order.len() > 7 {
            return Err("The ORDER BY clause may contain at most 7 fields.".into());
        }
    }
    if !p.at_end() {
        return Err(format!("Error in the JQL Query: unexpected {:?} at the end.", p.tokens[p.pos]));
    }
    let filter = filter.ok_or_else(|| {
        "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.".to_string()
    })?;
    Ok(Query { filter, order })
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Open,
    Close,
    Comma,
    Op(String),
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            _ if c.is_whitespace() => i += 1,
            '(' | ')' | ',' => {
                tokens.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    _ => Token::Comma,
                });
                i += 1;
            }
            '"' | '\'' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|d| *d == c)
                    .ok_or("Error in the JQL Query: a quoted value is not closed.")?;
                tokens.push(Token::Quoted(chars[i + 1..i + 1 + end].iter().collect()));
                i += end + 2;
            }
            '=' | '!' | '<' | '>' => {
                let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
                let op = if matches!(two.as_str(), ">=" | "<=" | "!=") { two } else { c.to_string() };
                if op == "!" {
                    return Err("Error in the JQL Query: '!' must be followed by '='.".into());
                }
                i += op.len();
                tokens.push(Token::Op(op));
            }
            _ => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || matches!(chars[i], '-' | '_' | '.' | ':' | '/'))
                {
                    i += 1;
                }
                if start == i {
                    return Err(format!("Error in the JQL Query: the character '{c}' is reserved."));
                }
                tokens.push(Token::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    zone: Option<Tz>,
}

impl Parser {
    fn at_end(&self) -> bool {
        self.pos >= self.tokens.len()
    }

    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn eat(&mut self, token: &Token) -> bool {
        let hit = self.tokens.get(self.pos) == Some(token);
        self.pos += usize::from(hit);
        hit
    }

    fn expect_word(&mut self, word: &str) -> Result<(), String> {
        if self.peek_word(word) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("Error in the JQL Query: expecting '{word}'."))
        }
    }

    fn or_expr(&mut self) -> Result<Expr, String> {
        let mut left = self.and_expr()?;
        while self.peek_word("or") {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and_expr()?));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while self.peek_word("and") {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.peek_word("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.eat(&Token::Open) {
            let inner = self.or_expr()?;
            if !self.eat(&Token::Close) {
                return Err("Error in the JQL Query: expecting ')'.".into());
            }
            return Ok(inner);
        }
        self.clause()
    }

    fn field(&mut self) -> Result<Field, String> {
        let Some(Token::Word(w)) = self.tokens.get(self.pos) else {
            return Err("Error in the JQL Query: expecting a field name.".into());
        };
        let field = match w.to_ascii_lowercase().as_str() {
            "project" => Field::Project,
            "key" | "issuekey" => Field::Key,
            "id" => Field::Id,
            "labels" => Field::Labels,
            "updated" | "updateddate" => Field::Updated,
            "created" | "createddate" => Field::Created,
            other => return Err(format!("Field '{other}' does not exist or you do not have permission to view it.")),
        };
        self.pos += 1;
        Ok(field)
    }

    fn op(&mut self) -> Result<Op, String> {
        let op = match self.tokens.get(self.pos) {
            Some(Token::Op(o)) => match o.as_str() {
                "=" => Op::Eq,
                "!=" => Op::Ne,
                ">=" => Op::Ge,
                "<=" => Op::Le,
                ">" => Op::Gt,
                "<" => Op::Lt,
                _ => return Err(format!("Error in the JQL Query: unknown operator '{o}'.")),
            },
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("in") => Op::In,
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("not") => {
                self.pos += 1;
                if !self.peek_word("in") {
                    return Err("Error in the JQL Query: expecting 'in' after 'not'.".into());
                }
                Op::NotIn
            }
            _ => return Err("Error in the JQL Query: expecting an operator.".into()),
        };
        self.pos += 1;
        Ok(op)
    }

    fn value(&mut self) -> Result<(String, bool), String> {
        let v = match self.tokens.get(self.pos) {
            Some(Token::Word(w)) => (w.clone(), false),
            Some(Token::Quoted(q)) => (q.clone(), true),
            _ => return Err("Error in the JQL Query: expecting a value.".into()),
        };
        self.pos += 1;
        Ok(v)
    }

    fn clause(&mut self) -> Result<Expr, String> {
        let field = self.field()?;
        let op = self.op()?;
        let mut values = Vec::new();
        if matches!(op, Op::In | Op::NotIn) {
            if !self.eat(&Token::Open) {
                return Err("Error in the JQL Query: expecting '(' after 'in'.".into());
            }
            loop {
                values.push(self.value()?.0);
                if !self.eat(&Token::Comma) {
                    break;
                }
            }
            if !self.eat(&Token::Close) {
                return Err("Error in the JQL Query: expecting ')'.".into());
            }
        } else {
            let (value, quoted) = self.value()?;
            if matches!(field, Field::Updated | Field::Created) {
                return self.time(field, op, &value, quoted);
            }
            values.push(value);
        }
        if matches!(field, Field::Updated | Field::Created) {
            return Err("Error in the JQL Query: 'in' is not supported for dates here.".into());
        }
        if matches!(op, Op::Ge | Op::Le | Op::Gt | Op::Lt) {
            return Err(format!("The operator '{op:?}' is not supported by the '{field:?}' field."));
        }
        Ok(Expr::Text(field, op, values))
    }

    fn time(&self, field: Field, op: Op, value: &str, quoted: bool) -> Result<Expr, String> {
        let epoch = (!quoted).then(|| value.parse::<i64>().ok()).flatten();
        let at = match epoch {
            Some(ms) => DateTime::from_timestamp_millis(ms),
            None => read_jql_local(value, self.zone),
        };
        let at = at.ok_or_else(|| {
            format!(
                "Date value '{value}' for field '{}' is invalid. Valid formats include: \
                 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period \
                 format e.g. '-5d', '4w 2d'.",
                if field == Field::Updated { "updated" } else { "created" }
            )
        })?;
        Ok(Expr::Time(field, op, at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        crate::mapping::time::parse_timestamp(text).unwrap_or_default()
    }

    fn subject<'a>(key: &'a str, project: &'a str, labels: &'a [String], updated: &str) -> Subject<'a> {
        Subject { id: 10001, key, project, labels, updated: at(updated), created: at(updated) }
    }

    #[test]
    fn the_connectors_query_shape_parses_and_reads_dates_in_the_zone() {
        let q = parse(
            "(project in (OPS, SUP)) AND updated >= \"2026/01/02 13:15\" AND updated <= \"2026-01-02 14:00\" \
             ORDER BY updated ASC, key ASC",
            Some(chrono_tz::Europe::Moscow),
        );
        let q = q.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.order, vec![(Field::Updated, true), (Field::Key, true)]);
        let labels = Vec::new();
        // 13:15 Moscow is 10:15Z.
        assert!(q.filter.matches(&subject("OPS-1", "OPS", &labels, "2026-01-02T10:15:00Z")));
        assert!(!q.filter.matches(&subject("OPS-1", "OPS", &labels, "2026-01-02T10:14:59Z")));
        assert!(!q.filter.matches(&subject("XYZ-1", "XYZ", &labels, "2026-01-02T10:30:00Z")));
        assert!(q.filter.matches(&subject("SUP-1", "SUP", &labels, "2026-01-02T11:00:00Z")));
        assert!(!q.filter.matches(&subject("SUP-1", "SUP", &labels, "2026-01-02T11:00:01Z")));
    }

    #[test]
    fn epoch_millis_keys_labels_and_negation_work() {
        let labels = vec!["client:acme.com".to_string()];
        let s = subject("OPS-7", "OPS", &labels, "2026-01-02T10:15:00Z");
        let m = |jql: &str| parse(jql, None).map(|q| q.filter.matches(&s));
        assert_eq!(m("updated >= 1767348900000"), Ok(true));
        assert_eq!(m("updated > 1767348900000"), Ok(false));
        assert_eq!(m("key in (OPS-7, OPS-8)"), Ok(true));
        assert_eq!(m("issuekey = ops-7"), Ok(true));
        assert_eq!(m("labels = 'client:acme.com' and not project = SUP"), Ok(true));
        assert_eq!(m("project not in (OPS) OR id = 10001"), Ok(true));
    }

    #[test]
    fn unbounded_and_malformed_queries_are_refused() {
        assert!(parse("ORDER BY key DESC", None).is_err_and(|e| e.starts_with("Unbounded")));
        assert!(parse("", None).is_err_and(|e| e.starts_with("Unbounded")));
        assert!(parse("project = ", None).is_err());
        assert!(parse("updated >= \"yesterday\"", None).is_err_and(|e| e.contains("is invalid")));
        assert!(parse("assignee = bob", None).is_err());
        assert!(parse("project in (OPS", None).is_err());
        assert!(parse("project = \"OPS", None).is_err());
    }

    #[test]
    fn keys_sort_by_project_then_number() {
        let labels = Vec::new();
        let a = subject("OPS-9", "OPS", &labels, "2026-01-02T10:15:00Z");
        let b = subject("OPS-10", "OPS", &labels, "2026-01-02T10:15:00Z");
        assert_eq!(compare(&[(Field::Key, true)], &a, &b), Ordering::Less);
        assert_eq!(compare(&[(Field::Key, false)], &a, &b), Ordering::Greater);
    }
}
