//! The catalogue of limits, checked: every limit constant of the workspace's crates has its row in
//! docs/limits.md, and every row of the catalogue names a constant that exists where it says.
//!
//! The rule, a plain function over text so that the tests at the bottom can show it failing:
//! - a *limit constant* is a `const` item in `crates/{wire,net,store,replication,namesrv,broker,client,grpc,cli}/src`
//!   whose name has `MAX`, `MIN`, `TIMEOUT`, `LIMIT` or `RANGE` as one of its `_`-separated
//!   words (`FRAME_BYTES_MAX`, `LOCK_MAX_LIVE_MS`, `SEGMENT_BYTES_RANGE`) and whose type is not
//!   text (`&str`, `&[..]`, `char`: property names such as `MAX_OFFSET` are not limits). Code under
//!   `#[cfg(test)]` (an inline module, a single item, or a `mod x;` file) does not count;
//! - a *catalogue row* is a table line of docs/limits.md whose first cell is one constant name
//!   in backticks; the row's location is the first backticked `crates/….rs` path on it;
//! - every limit constant needs a row with its name and its file, unless it is listed in
//!   [`NOT_LIMITS`] with the reason it matches the words without bounding anything;
//! - every row must name a constant (limit-shaped or not) defined in the file the row gives, once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a panic is the failure report

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The crates whose limits the catalogue covers: the servers' libraries, the gRPC endpoint, the
/// client SDK and the binary (its console, tap, logging, shutdown and benchmarks).
const LIBRARY_CRATES: &[&str] = &[
    "wire",
    "net",
    "store",
    "replication",
    "namesrv",
    "broker",
    "client",
    "grpc",
    "cli",
];
/// The one catalogue of limits, relative to the workspace root.
const CATALOGUE: &str = "docs/limits.md";
/// A constant whose name has one of these as a `_`-separated word is a limit.
const LIMIT_WORDS: &[&str] = &["MAX", "MIN", "TIMEOUT", "LIMIT", "RANGE"];

/// Constants that match [`LIMIT_WORDS`] without bounding anything: (file, name, why not a limit).
const NOT_LIMITS: &[(&str, &str, &str)] = &[
    (
        "crates/wire/src/json/write.rs",
        "BROWSER_SAFE_INTEGER_MAX",
        "where fastjson starts quoting longs: an output format rule, it refuses nothing",
    ),
    (
        "crates/wire/src/message/compression.rs",
        "COMPRESS_BODY_BYTES_MIN",
        "the body size from which a Java producer compresses: a threshold, not a bound",
    ),
    (
        "crates/wire/src/message/record.rs",
        "FIXED_BYTES_MAX",
        "the fixed part of a record with IPv6 hosts: a layout size, a term of RECORD_BYTES_MAX",
    ),
    (
        "crates/store/src/checkpoint.rs",
        "MIN_TIMESTAMP_MARGIN_MS",
        "how far before the checkpoint's time recovery starts: a safety margin, not a bound",
    ),
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_limit_is_catalogued_and_every_row_is_in_the_code() {
    let root = workspace_root();
    let constants = library_constants(&root);
    assert!(
        constants.iter().filter(|c| c.is_limit()).count() >= 50,
        "found only {} limit constants under {}",
        constants.iter().filter(|c| c.is_limit()).count(),
        root.display()
    );
    let markdown = fs::read_to_string(root.join(CATALOGUE)).unwrap_or_else(|e| panic!("{CATALOGUE}: {e}"));
    let problems = catalogue_problems(&constants, &catalogue_rows(&markdown), NOT_LIMITS);
    assert!(
        problems.is_empty(),
        "{CATALOGUE} and the code disagree. Give each limit a row (`NAME` | value | when hit | why | \
         `crates/…/file.rs`), drop rows of removed constants, or list a constant that bounds nothing \
         in NOT_LIMITS with its reason:\n  {}",
        problems.join("\n  ")
    );
}

// ---- constants in the code ----

/// One `const` item of library code.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Constant {
    /// Relative to the workspace root, with `/`.
    file: String,
    line: usize,
    name: String,
    /// The declared type, as written.
    ty: String,
}

impl Constant {
    fn is_limit(&self) -> bool {
        let named_as_limit = self.name.split('_').any(|word| LIMIT_WORDS.contains(&word));
        let text = self.ty.starts_with('&') || self.ty == "char";
        named_as_limit && !text
    }
}

/// What one source file holds: its constants outside test code, and the files of the modules it
/// declares under `#[cfg(test)]` (`mod tests;`), as (`dir/x.rs`, `dir/x/`) pairs.
#[derive(Debug, Default)]
struct Scan {
    constants: Vec<Constant>,
    test_modules: Vec<(String, String)>,
}

fn scan(file: &str, text: &str) -> Scan {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Scan::default();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        if line.trim() == "#[cfg(test)]" {
            let (item, after) = test_item(&lines, index + 1);
            if let Some(module) = item.and_then(module_file_name) {
                found.test_modules.push(module_paths(file, module));
            }
            index = after;
            continue;
        }
        if let Some((name, ty)) = const_item(line) {
            found.constants.push(Constant {
                file: file.to_owned(),
                line: index + 1,
                name,
                ty,
            });
        }
        index += 1;
    }
    found
}

/// The first line of the item that starts at `start` (after its other attributes), and the index
/// of the line after the item: the line itself when it ends in `;` or closes its braces, else the
/// line where a `}` stands at the item's own indentation (rustfmt's layout).
fn test_item<'a>(lines: &[&'a str], start: usize) -> (Option<&'a str>, usize) {
    let mut index = start;
    while lines.get(index).is_some_and(|line| line.trim_start().starts_with("#[")) {
        index += 1;
    }
    let Some(first) = lines.get(index) else {
        return (None, index);
    };
    let opens = first.matches('{').count();
    if first.trim_end().ends_with(';') || (opens > 0 && opens == first.matches('}').count()) {
        return (Some(first), index + 1);
    }
    let indent = &first[..first.len() - first.trim_start().len()];
    let close = format!("{indent}}}");
    let end = (index + 1..lines.len())
        .find(|&at| lines[at].starts_with(&close))
        .map_or(lines.len(), |at| at + 1);
    (Some(first), end)
}

/// `x` of a `mod x;` line (any visibility).
fn module_file_name(line: &str) -> Option<&str> {
    let rest = without_visibility(line.trim()).strip_prefix("mod ")?;
    let name = rest.strip_suffix(';')?.trim();
    name.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
        .then_some(name)
}

/// Where `mod module;` declared in `file` lives: `dir/module.rs`, and `dir/module/` for
/// `dir/module/mod.rs` and its submodules.
fn module_paths(file: &str, module: &str) -> (String, String) {
    let (parent, name) = file.rsplit_once('/').unwrap_or(("", file));
    let dir = match name {
        "lib.rs" | "main.rs" | "mod.rs" => parent.to_owned(),
        _ => format!("{parent}/{}", name.trim_end_matches(".rs")),
    };
    (format!("{dir}/{module}.rs"), format!("{dir}/{module}/"))
}

/// (name, type) of a `const NAME: Type = …` line, any visibility.
fn const_item(line: &str) -> Option<(String, String)> {
    let rest = without_visibility(line.trim()).strip_prefix("const ")?;
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_uppercase()) {
        return None; // `const fn`, or a lower-case name
    }
    let ty = rest[name.len()..].trim_start().strip_prefix(':')?;
    let ty = ty.split_once('=').map_or(ty, |(ty, _)| ty);
    Some((name, ty.trim().trim_end_matches(';').trim().to_owned()))
}

/// `line` without a leading `pub`, `pub(crate)`, `pub(super)` or `pub(in path)`.
fn without_visibility(line: &str) -> &str {
    let Some(rest) = line.strip_prefix("pub") else {
        return line;
    };
    let rest = match rest.strip_prefix('(') {
        Some(scoped) => scoped.split_once(')').map_or(scoped, |(_, after)| after),
        None => rest,
    };
    match rest.strip_prefix(' ') {
        Some(item) => item.trim_start(),
        None => line, // `pubx`: not a visibility
    }
}

/// The constants of every library crate, test code and test-only module files left out.
fn library_constants(root: &Path) -> Vec<Constant> {
    let mut scans = Vec::new();
    for name in LIBRARY_CRATES {
        let mut files = Vec::new();
        collect_rs(root, &root.join("crates").join(name).join("src"), &mut files);
        scans.extend(files.iter().map(|(file, text)| (file.clone(), scan(file, text))));
    }
    let test_modules: Vec<(String, String)> = scans.iter().flat_map(|(_, s)| s.test_modules.clone()).collect();
    let is_test_file = |file: &str| {
        test_modules
            .iter()
            .any(|(path, dir)| file == path || file.starts_with(dir.as_str()))
    };
    scans
        .into_iter()
        .filter(|(file, _)| !is_test_file(file))
        .flat_map(|(_, scan)| scan.constants)
        .collect()
}

fn collect_rs(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_rs(root, &path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let relative = path.strip_prefix(root).unwrap();
            let name = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            files.push((name, fs::read_to_string(&path).unwrap()));
        }
    }
    files.sort();
}

// ---- rows of the catalogue ----

/// A table line of the catalogue whose first cell is one backticked constant name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    line: usize,
    name: String,
    /// The first backticked `crates/….rs` on the line.
    file: Option<String>,
}

fn catalogue_rows(markdown: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    for (index, line) in markdown.lines().enumerate() {
        let Some(cells) = line.trim().strip_prefix('|') else {
            continue;
        };
        let first = first_cell(cells).trim();
        let Some(name) = first.strip_prefix('`').and_then(|rest| rest.strip_suffix('`')) else {
            continue;
        };
        let constant_like = name.starts_with(|c: char| c.is_ascii_uppercase())
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !constant_like {
            continue;
        }
        let file = line
            .split('`')
            .skip(1)
            .step_by(2)
            .find(|code| code.starts_with("crates/") && code.ends_with(".rs"))
            .map(str::to_owned);
        rows.push(Row {
            line: index + 1,
            name: name.to_owned(),
            file,
        });
    }
    rows
}

/// The text before the first `|` not escaped as `\|`.
fn first_cell(cells: &str) -> &str {
    let bytes = cells.as_bytes();
    let end = (0..bytes.len())
        .find(|&at| bytes[at] == b'|' && (at == 0 || bytes[at - 1] != b'\\'))
        .unwrap_or(bytes.len());
    &cells[..end]
}

// ---- the check ----

/// Every way the code and the catalogue disagree, one sentence each; empty when they agree.
fn catalogue_problems(constants: &[Constant], rows: &[Row], not_limits: &[(&str, &str, &str)]) -> Vec<String> {
    let mut problems = Vec::new();
    let excluded = |c: &Constant| {
        not_limits
            .iter()
            .any(|(file, name, _)| c.file == *file && c.name == *name)
    };
    let has_row = |c: &Constant| {
        rows.iter()
            .any(|r| r.name == c.name && r.file.as_deref() == Some(&c.file))
    };
    for constant in constants.iter().filter(|c| c.is_limit() && !excluded(c)) {
        if !has_row(constant) {
            problems.push(format!(
                "`{}` ({}:{}) has no row in {CATALOGUE}",
                constant.name, constant.file, constant.line
            ));
        }
    }
    let mut seen = BTreeSet::new();
    for row in rows {
        let Some(file) = &row.file else {
            problems.push(format!(
                "{CATALOGUE}:{}: the row of `{}` gives no `crates/….rs` file",
                row.line, row.name
            ));
            continue;
        };
        if !constants.iter().any(|c| c.name == row.name && c.file == *file) {
            problems.push(format!(
                "{CATALOGUE}:{}: `{}` is not a constant of {file} (removed, renamed or moved?)",
                row.line, row.name
            ));
        }
        if !seen.insert((row.name.as_str(), file.as_str())) {
            problems.push(format!(
                "{CATALOGUE}:{}: `{}` of {file} has a second row",
                row.line, row.name
            ));
        }
    }
    for (file, name, _) in not_limits {
        if !constants
            .iter()
            .any(|c| c.file == *file && c.name == *name && c.is_limit())
        {
            problems.push(format!(
                "NOT_LIMITS lists `{name}` of {file}, which is no longer a limit-shaped constant there"
            ));
        }
    }
    problems
}

// ---- the check can fail ----

mod checks_fail_on_bad_input {
    use super::*;

    const SOURCE: &str = "//! Frames.\n\n\
        /// Java rejects larger frames.\n\
        pub const FRAME_BYTES_MAX: usize = 16 * 1024 * 1024;\n\
        pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(120);\n\
        const QUEUE_IDS_RANGE: (i32, i32) =\n    (0, 65_536);\n\
        const LOCK_MAX_LIVE_MS: i64 = 60_000;\n\
        pub const MAX_OFFSET: &str = \"MAX_OFFSET\";\n\
        const MAXIMUM_EFFORT: u32 = 1;\n\
        const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);\n\
        const fn helper() -> u32 { 1 }\n\n\
        impl Foo {\n    #[cfg(test)]\n    pub fn peek(&self) -> usize {\n        const INNER_MAX: usize = 1;\n        INNER_MAX\n    }\n}\n\n\
        #[cfg(test)]\nconst TEST_ONLY_MAX: usize = 3;\n\n\
        #[cfg(test)]\nmod tests;\n\n\
        #[cfg(test)]\nmod more_tests {\n    const HELPER_MAX: usize = 1;\n\n    fn f() {\n        let x = 1;\n    }\n}\n";

    const FILE: &str = "crates/wire/src/command.rs";

    const GOOD: &str = "# Limits\n\n\
        | Limit | Value | When hit | Why | Where |\n\
        |---|---|---|---|---|\n\
        | `FRAME_BYTES_MAX` | 16 MiB | connection closed | Java's | `crates/wire/src/command.rs` |\n\
        | `IDLE_TIMEOUT` | 120 s | connection closed | Java's | `crates/wire/src/command.rs` |\n\
        | `QUEUE_IDS_RANGE` | 0..65 536 | refused \\| logged | no topic has more | `crates/wire/src/command.rs` |\n\
        | `LOCK_MAX_LIVE_MS` | 60 s | lock expires | Java's | `crates/wire/src/command.rs` |\n\
        | `SHUTDOWN_GRACE` | 5 s | handlers aborted | not a limit by name, listed anyway | `crates/wire/src/command.rs` |\n\n\
        | Setting | Default | Range |\n|---|---|---|\n\
        | `maxMessageSize` | `BODY_BYTES_MAX_DEFAULT` | 1 KiB..1 GiB |\n";

    fn constants_of(source: &str) -> Vec<Constant> {
        scan(FILE, source).constants
    }

    fn problems(source: &str, markdown: &str) -> Vec<String> {
        catalogue_problems(&constants_of(source), &catalogue_rows(markdown), &[])
    }

    #[test]
    fn the_scan_finds_limits_by_their_words_and_skips_test_code_and_text() {
        let limits: Vec<String> = constants_of(SOURCE)
            .into_iter()
            .filter(Constant::is_limit)
            .map(|c| c.name)
            .collect();
        assert_eq!(
            limits,
            ["FRAME_BYTES_MAX", "IDLE_TIMEOUT", "QUEUE_IDS_RANGE", "LOCK_MAX_LIVE_MS"]
        );
        let all: Vec<String> = constants_of(SOURCE).into_iter().map(|c| c.name).collect();
        assert!(all.contains(&"SHUTDOWN_GRACE".to_owned()) && all.contains(&"MAX_OFFSET".to_owned()));
        assert!(!all.iter().any(|name| name.contains("TEST") || name.contains("INNER")));
        assert_eq!(
            scan(FILE, SOURCE).test_modules,
            vec![(
                "crates/wire/src/command/tests.rs".to_owned(),
                "crates/wire/src/command/tests/".to_owned()
            )]
        );
        assert_eq!(
            module_paths("crates/net/src/lib.rs", "testing"),
            (
                "crates/net/src/testing.rs".to_owned(),
                "crates/net/src/testing/".to_owned()
            )
        );
    }

    #[test]
    fn the_documented_code_passes() {
        assert_eq!(problems(SOURCE, GOOD), Vec::<String>::new());
        let rows = catalogue_rows(GOOD);
        assert_eq!(rows.len(), 5, "a setting row is not a constant row: {rows:?}");
    }

    #[test]
    fn a_new_undocumented_limit_fails_naming_it() {
        let source = format!("{SOURCE}\n/// Why.\npub const FOO_MAX: usize = 7;\n");
        let line = source.lines().count();
        assert_eq!(
            problems(&source, GOOD),
            vec![format!("`FOO_MAX` ({FILE}:{line}) has no row in {CATALOGUE}")]
        );
    }

    #[test]
    fn a_row_for_a_removed_constant_fails_naming_it() {
        let source = SOURCE.replace("const LOCK_MAX_LIVE_MS: i64 = 60_000;\n", "");
        assert_eq!(
            problems(&source, GOOD),
            vec![format!(
                "{CATALOGUE}:8: `LOCK_MAX_LIVE_MS` is not a constant of {FILE} (removed, renamed or moved?)"
            )]
        );
    }

    #[test]
    fn a_row_pointing_at_the_wrong_file_fails_both_ways() {
        let markdown = GOOD.replace(
            "| `IDLE_TIMEOUT` | 120 s | connection closed | Java's | `crates/wire/src/command.rs` |",
            "| `IDLE_TIMEOUT` | 120 s | connection closed | Java's | `crates/net/src/config.rs` |",
        );
        assert_eq!(
            problems(SOURCE, &markdown),
            vec![
                format!("`IDLE_TIMEOUT` ({FILE}:5) has no row in {CATALOGUE}"),
                format!(
                    "{CATALOGUE}:6: `IDLE_TIMEOUT` is not a constant of crates/net/src/config.rs (removed, renamed or moved?)"
                ),
            ]
        );
    }

    #[test]
    fn a_row_without_a_file_or_twice_fails() {
        let row = "| `FRAME_BYTES_MAX` | 16 MiB | connection closed | Java's | `crates/wire/src/command.rs` |\n";
        let twice = GOOD.replace(row, &format!("{row}{row}"));
        assert_eq!(
            problems(SOURCE, &twice),
            vec![format!("{CATALOGUE}:6: `FRAME_BYTES_MAX` of {FILE} has a second row")]
        );
        let nowhere = GOOD.replace(
            row,
            "| `FRAME_BYTES_MAX` | 16 MiB | connection closed | Java's | wire |\n",
        );
        assert_eq!(
            problems(SOURCE, &nowhere),
            vec![
                format!("`FRAME_BYTES_MAX` ({FILE}:4) has no row in {CATALOGUE}"),
                format!("{CATALOGUE}:5: the row of `FRAME_BYTES_MAX` gives no `crates/….rs` file"),
            ]
        );
    }

    #[test]
    fn an_exclusion_lets_a_non_limit_pass_and_a_stale_one_fails() {
        let source = format!("{SOURCE}const BROWSER_SAFE_INTEGER_MAX: i64 = (1 << 53) - 1;\n");
        let constants = constants_of(&source);
        let rows = catalogue_rows(GOOD);
        let not_limits = [(FILE, "BROWSER_SAFE_INTEGER_MAX", "a format rule")];
        assert_eq!(catalogue_problems(&constants, &rows, &not_limits), Vec::<String>::new());
        assert_eq!(
            catalogue_problems(&constants_of(SOURCE), &rows, &not_limits),
            vec![format!(
                "NOT_LIMITS lists `BROWSER_SAFE_INTEGER_MAX` of {FILE}, which is no longer a limit-shaped constant there"
            )]
        );
    }

    #[test]
    fn every_exclusion_says_why() {
        for (file, name, why) in NOT_LIMITS {
            assert!(file.starts_with("crates/") && file.ends_with(".rs"), "{file}");
            assert!(name.split('_').any(|word| LIMIT_WORDS.contains(&word)), "{name}");
            assert!(why.len() > 20, "{name}: say why it is not a limit");
        }
    }
}
