//! Java properties text, as `java.util.Properties.load` reads it: the body of
//! UPDATE_NAMESRV_CONFIG and UPDATE_BROKER_CONFIG, and the format of `namesrv.conf` and
//! `broker.conf`.
//!
//! Rules reproduced: lines end at `\n`, `\r` or `\r\n`; leading whitespace (space, tab, form
//! feed) is skipped; a line whose first non-blank character is `#` or `!` is a comment; a line
//! ending in an odd number of backslashes continues on the next, whose leading whitespace is
//! skipped; the key ends at the first unescaped `=`, `:` or whitespace, after which whitespace and
//! at most one `=` or `:` are skipped; escapes `\t \n \r \f \uXXXX` are decoded and any other
//! escaped character stands for itself. A malformed `\uXXXX` is an error, as in Java. Later
//! duplicates win. Java reads the bytes as ISO-8859-1; we read UTF-8 text, which agrees on ASCII.

use crate::error::{WireError, WireResult};

/// A name-server or broker config has a few dozen keys; anything with more entries is not one.
pub const PROPERTIES_ENTRIES_MAX: usize = 1024;

/// Parses properties text into key/value pairs in file order, later duplicates replacing
/// earlier ones in place.
pub fn parse(text: &str) -> WireResult<Vec<(String, String)>> {
    let mut entries: Vec<(String, String)> = Vec::new();
    for (_, logical) in logical_lines(text) {
        let (key, value) = split_entry(&logical)?;
        let full = entries.len() >= PROPERTIES_ENTRIES_MAX;
        match entries.iter_mut().find(|(existing, _)| *existing == key) {
            Some(entry) => entry.1 = value,
            None if full => {
                return Err(WireError::BadProperties {
                    reason: format!("more than {PROPERTIES_ENTRIES_MAX} entries"),
                });
            }
            None => entries.push((key, value)),
        }
    }
    Ok(entries)
}

/// One entry of a properties text and the line (1-based) where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberedEntry {
    pub line: usize,
    pub key: String,
    pub value: String,
}

/// Every entry in file order with its line, duplicates kept, for tools that point at a line
/// (`--check-config`); a malformed line is an error at that line, the others still read.
pub fn parse_numbered(text: &str) -> Vec<Result<NumberedEntry, (usize, WireError)>> {
    logical_lines(text)
        .into_iter()
        .map(|(line, logical)| match split_entry(&logical) {
            Ok((key, value)) => Ok(NumberedEntry { line, key, value }),
            Err(error) => Err((line, error)),
        })
        .collect()
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{c}')
}

/// Joins continued lines and drops comments and blank lines; escapes stay encoded. Each logical
/// line comes with the number (1-based) of the physical line it starts on.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, physical) in physical_lines(text).enumerate() {
        let trimmed = physical.trim_start_matches(is_blank);
        let continuing = current.is_some();
        if !continuing && (trimmed.is_empty() || trimmed.starts_with(['#', '!'])) {
            continue;
        }
        let trailing_backslashes = trimmed.chars().rev().take_while(|c| *c == '\\').count();
        let (_, line) = current.get_or_insert_with(|| (index + 1, String::new()));
        if trailing_backslashes % 2 == 1 {
            line.push_str(trimmed.get(..trimmed.len() - 1).unwrap_or_default());
        } else {
            line.push_str(trimmed);
            lines.extend(current.take());
        }
    }
    lines.extend(current);
    lines
}

/// Lines end at `\n`, `\r` or `\r\n`.
fn physical_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.find(['\n', '\r']) {
            Some(end) => {
                let terminator = match current.get(end..end + 2) {
                    Some("\r\n") => 2,
                    _ => 1,
                };
                rest = current.get(end + terminator..);
                current.get(..end)
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// Splits one logical line into its decoded key and value.
fn split_entry(line: &str) -> WireResult<(String, String)> {
    let mut key_end = line.len();
    let mut escaped = false;
    for (index, c) in line.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '=' || c == ':' || is_blank(c) {
            key_end = index;
            break;
        }
    }
    let (raw_key, rest) = line.split_at(key_end);
    let rest = rest.trim_start_matches(is_blank);
    let rest = rest.strip_prefix(['=', ':']).unwrap_or(rest);
    let raw_value = rest.trim_start_matches(is_blank);
    Ok((unescape(raw_key)?, unescape(raw_value)?))
}

fn unescape(raw: &str) -> WireResult<String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => out.push(unicode_escape(&mut chars)?),
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

/// The four hex digits after `\u`. Java decodes UTF-16 units; a lone surrogate has no `char`,
/// so it becomes U+FFFD.
fn unicode_escape(chars: &mut std::str::Chars<'_>) -> WireResult<char> {
    let mut unit: u32 = 0;
    for _ in 0..4 {
        let digit = chars
            .next()
            .and_then(|c| c.to_digit(16))
            .ok_or_else(|| WireError::BadProperties {
                reason: "Malformed \\uxxxx encoding.".into(),
            })?;
        unit = unit * 16 + digit;
    }
    Ok(char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text).unwrap()
    }

    fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn numbered_entries_point_at_the_line_each_starts_on() {
        let text = "# comment\n\nalpha=1\r\nbeta = two \\\n   three\ngamma\\u12\nalpha=4\n";
        let numbered = parse_numbered(text);
        let lines: Vec<_> = numbered
            .iter()
            .map(|entry| match entry {
                Ok(entry) => (entry.line, entry.key.as_str(), entry.value.as_str()),
                Err((line, _)) => (*line, "<error>", ""),
            })
            .collect();
        assert_eq!(
            lines,
            [
                (3, "alpha", "1"),
                (4, "beta", "two three"),
                (6, "<error>", ""),
                (7, "alpha", "4")
            ]
        );
    }

    #[test]
    fn separators_comments_and_whitespace() {
        let text = "# comment\n! also\n  a=1\nb : 2\r\nc 3\rd\n\te=\n f = x y \nkey\\ with\\=sep=v\n";
        assert_eq!(
            pairs(text),
            owned(&[
                ("a", "1"),
                ("b", "2"),
                ("c", "3"),
                ("d", ""),
                ("e", ""),
                ("f", "x y "),
                ("key with=sep", "v")
            ])
        );
    }

    #[test]
    fn continuations_and_escapes() {
        let text = "long = one, \\\n     two\nescaped=a\\\\\nnext=\\u0041\\t\\q\nlast=end\\";
        assert_eq!(
            pairs(text),
            owned(&[
                ("long", "one, two"),
                ("escaped", "a\\"),
                ("next", "A\tq"),
                ("last", "end")
            ])
        );
    }

    #[test]
    fn duplicates_replace_and_bad_unicode_fails() {
        assert_eq!(pairs("a=1\nb=2\na=3"), owned(&[("a", "3"), ("b", "2")]));
        assert_eq!(pairs("a=1\\\r\n  2\r\nb=3"), owned(&[("a", "12"), ("b", "3")]));
        assert!(matches!(parse("a=\\u12"), Err(WireError::BadProperties { .. })));
        assert!(matches!(parse("a=\\uZZZZ"), Err(WireError::BadProperties { .. })));
        assert_eq!(pairs(""), vec![]);
        assert_eq!(pairs("\\ud800=x"), owned(&[("\u{fffd}", "x")]));
    }

    #[test]
    fn entry_count_is_bounded() {
        let text: String = (0..=PROPERTIES_ENTRIES_MAX).map(|i| format!("k{i}=v\n")).collect();
        assert!(parse(&text).is_err());
    }
}
