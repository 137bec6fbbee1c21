//! Where a subcommand's answer goes: mqadmin's text tables, or one JSON document with `--json`.

use std::io::Write;

use serde_json::Value;

/// The chosen format; a subcommand hands it both renderings and it prints one.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
}

impl Output {
    pub fn new(json: bool) -> Output {
        Output { json }
    }

    /// Prints `document` with `--json`, else the text `table` makes.
    pub fn emit(&self, document: Value, table: impl FnOnce() -> String) -> anyhow::Result<()> {
        let text = if self.json {
            let mut text = serde_json::to_string_pretty(&document)?;
            text.push('\n');
            text
        } else {
            table()
        };
        // A closed pipe (`| head`) ends the output, not the program with a panic.
        let mut stdout = std::io::stdout().lock();
        match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
            Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Err(error.into()),
            _ => Ok(()),
        }
    }
}

/// Java's `String.format("%-Ns", text)`: left-aligned, at least `width` characters.
pub fn left(text: &str, width: usize) -> String {
    format!("{text:<width$}")
}

/// Java's `String.format("%Ns", text)`: right-aligned, at least `width` characters.
pub fn right(text: &str, width: usize) -> String {
    format!("{text:>width$}")
}

/// Java's `UtilAll.timeMillisToHumanString2` (`yyyy-MM-dd HH:mm:ss,SSS`), in UTC.
pub fn human_time(ms: i64) -> String {
    let (year, month, day, hour, minute, second, milli) = ferrocket_wire::message::calendar::utc_fields(ms);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02},{milli:03}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_pad_like_java_format_and_never_cut() {
        assert_eq!(left("ab", 4), "ab  ");
        assert_eq!(right("ab", 4), "  ab");
        assert_eq!(left("abcdef", 4), "abcdef");
    }

    #[test]
    fn times_print_as_java_prints_them() {
        assert_eq!(human_time(1_796_605_870_225), "2026-12-07 01:11:10,225");
        assert_eq!(human_time(0), "1970-01-01 00:00:00,000");
    }
}
