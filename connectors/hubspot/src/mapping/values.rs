//! Reading HubSpot property strings: dates in two shapes, `;`-joined multi-values, HTML
//! task bodies. Pure functions, each tested on the messy inputs portals really hold.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// Parses a HubSpot date-time property. HubSpot sends either epoch milliseconds as a
/// string (`"1572480000000"`, the spec's own example) or ISO-8601 UTC with milliseconds
/// (`2024-09-13T20:23:03.333Z`); date-only values (`2024-09-13`, date pickers) are
/// midnight UTC, and an ISO value without a zone is read as UTC.
pub fn parse_time(raw: &str) -> Result<DateTime<Utc>, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("empty".into());
    }
    if s.bytes().all(|b| b.is_ascii_digit()) || (s.starts_with('-') && s.len() > 1) {
        let ms: i64 = s.parse().map_err(|_| "not an epoch-millisecond number".to_string())?;
        return DateTime::from_timestamp_millis(ms).ok_or_else(|| "epoch milliseconds out of range".to_string());
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Ok(t.and_utc());
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    Err("neither epoch milliseconds nor an ISO-8601 date".into())
}

/// ISO-8601 UTC with milliseconds, the shape HubSpot writes and accepts.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The parts of a `;`-joined multi-value property, trimmed, blanks dropped.
pub fn split_multi(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(';').map(str::trim).filter(|s| !s.is_empty())
}

/// Plain text from a task body: HubSpot stores rich text as HTML (`<p>Send proposal</p>`).
/// Block ends and `<br>` become line breaks, other tags are dropped, common entities are
/// decoded; text without markup comes back unchanged (trimmed).
pub fn html_to_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let opens_tag =
            rest[start + 1..].chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '!');
        let close = rest[start..].find('>');
        let (true, Some(len)) = (opens_tag, close) else {
            // A '<' that starts no tag is text ("a < b"), not markup.
            out.push('<');
            rest = &rest[start + 1..];
            continue;
        };
        let tag = rest[start + 1..start + len].trim().to_ascii_lowercase();
        let name = tag.trim_start_matches('/').split([' ', '/']).next().unwrap_or("");
        let breaks = matches!(name, "br" | "p" | "div" | "li" | "tr" | "h1" | "h2" | "h3");
        if breaks && (name == "br" || tag.starts_with('/')) {
            out.push('\n');
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let lines: Vec<&str> = decoded.lines().map(str::trim_end).collect();
    lines.join("\n").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(iso: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(iso).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    #[test]
    fn dates_arrive_as_epoch_ms_or_iso() {
        for (raw, want) in [
            ("1572480000000", "2019-10-31T00:00:00Z"),
            (" 1572480000000 ", "2019-10-31T00:00:00Z"),
            ("2024-09-13T20:23:03.333Z", "2024-09-13T20:23:03.333Z"),
            ("2024-09-13T20:23:03Z", "2024-09-13T20:23:03Z"),
            ("2024-09-13T23:23:03.333+03:00", "2024-09-13T20:23:03.333Z"),
            ("2024-09-13T20:23:03.333", "2024-09-13T20:23:03.333Z"),
            ("2024-09-13", "2024-09-13T00:00:00Z"),
            ("0", "1970-01-01T00:00:00Z"),
        ] {
            assert_eq!(parse_time(raw), Ok(at(want)), "{raw}");
        }
    }

    #[test]
    fn bad_dates_are_errors_not_guesses() {
        for raw in ["", "yesterday", "13/09/2024", "2024-13-45", "99999999999999999999", "-"] {
            assert!(parse_time(raw).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn times_format_the_way_hubspot_writes_them() {
        let t = at("2019-10-30T03:30:17.883Z");
        assert_eq!(format_time(t), "2019-10-30T03:30:17.883Z");
        assert_eq!(t.timestamp_millis(), 1_572_406_217_883);
        assert_eq!(parse_time(&t.timestamp_millis().to_string()), Ok(t));
    }

    #[test]
    fn multi_values_split_on_semicolons() {
        let parts: Vec<&str> = split_multi(" a@x.com ;; b@y.com;").collect();
        assert_eq!(parts, ["a@x.com", "b@y.com"]);
        assert_eq!(split_multi("").count(), 0);
        assert_eq!(split_multi("single").collect::<Vec<_>>(), ["single"]);
    }

    #[test]
    fn html_bodies_become_plain_text() {
        for (raw, want) in [
            ("<p>Send proposal</p>", "Send proposal"),
            ("<p>Line 1</p><p>Line 2</p>", "Line 1\nLine 2"),
            ("Call<br/>back &amp; confirm", "Call\nback & confirm"),
            ("<div><b>Позвонить</b> клиенту</div>", "Позвонить клиенту"),
            ("plain text, no markup", "plain text, no markup"),
            ("a < b and c > d", "a < b and c > d"),
            ("&lt;script&gt;", "<script>"),
        ] {
            assert_eq!(html_to_text(raw), want, "{raw}");
        }
    }
}
