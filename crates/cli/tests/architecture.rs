//! The architecture, checked: the crate graph is the one ARCHITECTURE.md draws, no source file
//! outgrows a reader's head, and library code reads clocks in one place only.
//!
//! Three checks over the workspace's files, each a plain function over text so that the tests at
//! the bottom can show it failing on a synthetic bad input:
//! - crate edges: every `ferrocket-*` entry of a crate's `[dependencies]` (and build-dependencies)
//!   is an edge drawn in ARCHITECTURE.md's "Crate edges" block, and every drawn edge is in some
//!   Cargo.toml. A `[dev-dependencies]` entry must point at a crate the drawing puts below this
//!   one (reachable along drawn edges), or be drawn as a test-only edge, `from -> to (tests)`:
//!   tests may use what their crate stands on, and a crate beside it only where the drawing says
//!   so. Every directory in `crates/` is drawn, and only those.
//! - file size: every file in `crates/*/src/`, counted up to its first line that starts with
//!   `#[cfg(test)]`, has at most `FILE_LINES_MAX` lines.
//! - broker layers: each top-level module of `crates/broker/src` imports (`crate::x`, in code
//!   before its first `#[cfg(test)]` line) only modules on a lower line of ARCHITECTURE.md's
//!   "Broker layers" block, so the broker has no import cycle and no arrow back up.
//! - clock reads: outside `crates/cli` and the one clock module, `src/` code (before its first
//!   `#[cfg(test)]` line) never names `SystemTime::now`, `UNIX_EPOCH` or `std::time::Instant`.
//!   `tokio::time::Instant` is allowed: it is the runtime's clock, which tests pause.
//! - unsafe code: the workspace denies `unsafe_code`; only the one audited module
//!   (`crates/store/src/mapped.rs`, its invariants in its doc) holds `unsafe`, and only the line
//!   of `crates/store/src/lib.rs` that declares it allows it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a panic is the failure report

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Style rule 10: split a file by concept near 800 lines.
const FILE_LINES_MAX: usize = 800;
/// The one library file allowed to read the wall clock; everything else receives `now_ms`.
const CLOCK_MODULE: &str = "crates/store/src/clock.rs";
/// The one module allowed `unsafe`, and the one file that may allow it (declaring the module).
const UNSAFE_MODULE: &str = "crates/store/src/mapped.rs";
const UNSAFE_ALLOWED_IN: &str = "crates/store/src/lib.rs";
/// The client SDK's own clock module: the SDK must not depend on the store, and a client stamps
/// born times and message ids with the wall clock, so it reads it there and nowhere else.
const CLIENT_CLOCK_MODULE: &str = "crates/client/src/clock.rs";
/// The line in ARCHITECTURE.md that introduces the fenced block of crate edges.
const EDGES_MARKER: &str = "Crate edges (checked by crates/cli/tests/architecture.rs):";
/// The line in ARCHITECTURE.md that introduces the broker's layers, top to bottom.
const LAYERS_MARKER: &str = "Broker layers, top to bottom (checked by crates/cli/tests/architecture.rs):";
/// The crate whose modules the layers name.
const LAYERED_CRATE_SRC: &str = "crates/broker/src/";
/// Every workspace crate's package name starts with this; other dependencies are not edges.
const PACKAGE_PREFIX: &str = "ferrocket";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn crate_edges_are_the_ones_architecture_md_draws() {
    let root = workspace_root();
    let mut manifests = Vec::new();
    for dir in crate_dirs(&root) {
        let text = fs::read_to_string(root.join("crates").join(&dir).join("Cargo.toml")).unwrap();
        manifests.push(parse_manifest(&dir, &text));
    }
    assert!(
        manifests.len() >= 2,
        "found only {} crates under {}",
        manifests.len(),
        root.display()
    );
    let markdown = fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let drawing = parse_drawing(&markdown).unwrap_or_else(|problem| panic!("ARCHITECTURE.md: {problem}"));
    let problems = edge_problems(&manifests, &drawing);
    assert!(
        problems.is_empty(),
        "crate graph differs from ARCHITECTURE.md:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn source_files_fit_in_the_line_limit() {
    let root = workspace_root();
    let files = source_files(&root);
    assert!(!files.is_empty(), "no source files under {}", root.display());
    let offenders: Vec<String> = files
        .iter()
        .filter_map(|(path, text)| oversized_file(path, text))
        .collect();
    assert!(
        offenders.is_empty(),
        "files over {FILE_LINES_MAX} non-test lines:\n  {}",
        offenders.join("\n  ")
    );
}

#[test]
fn library_code_reads_clocks_only_in_the_clock_module() {
    let root = workspace_root();
    let offenders: Vec<String> = source_files(&root)
        .iter()
        .filter(|(path, _)| clock_checked(path))
        .flat_map(|(path, text)| clock_reads(path, text))
        .collect();
    assert!(
        offenders.is_empty(),
        "clock reads outside {CLOCK_MODULE} (take now_ms, or use tokio::time::Instant):\n  {}",
        offenders.join("\n  ")
    );
}

#[test]
fn unsafe_code_lives_in_the_one_audited_module() {
    let root = workspace_root();
    let offenders: Vec<String> = source_files(&root)
        .iter()
        .flat_map(|(path, text)| unsafe_uses(path, text))
        .collect();
    assert!(
        offenders.is_empty(),
        "unsafe outside {UNSAFE_MODULE} (or an allow outside {UNSAFE_ALLOWED_IN}):\n  {}",
        offenders.join("\n  ")
    );
    let manifest = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("unsafe_code = \"deny\"") || manifest.contains("unsafe_code = \"forbid\""),
        "the workspace must deny unsafe_code"
    );
}

/// `unsafe` blocks, functions or impls, and `allow(unsafe_code)`, where they may not be.
fn unsafe_uses(path: &str, text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (index, line) in text.lines().map(without_comment).enumerate() {
        let number = index + 1;
        let code = line.trim();
        let allows = code.contains("allow(unsafe_code)");
        let is_unsafe = ["unsafe {", "unsafe fn", "unsafe impl", "unsafe extern"]
            .iter()
            .any(|form| code.contains(form));
        if (allows && path != UNSAFE_ALLOWED_IN) || (is_unsafe && path != UNSAFE_MODULE) {
            found.push(format!("{path}:{number}: {code}"));
        }
    }
    found
}

#[test]
fn broker_modules_import_only_lower_layers() {
    let root = workspace_root();
    let markdown = fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let layers = parse_layers(&markdown).unwrap_or_else(|problem| panic!("ARCHITECTURE.md: {problem}"));
    let offenders: Vec<String> = source_files(&root)
        .iter()
        .flat_map(|(path, text)| layer_problems(path, text, &layers))
        .collect();
    assert!(
        offenders.is_empty(),
        "imports against the broker's layers:\n  {}",
        offenders.join("\n  ")
    );
}

// ---- crate edges ----

/// What one crate's Cargo.toml says about workspace crates.
#[derive(Debug, Default, Clone)]
struct Manifest {
    /// The directory under `crates/`, the name the drawing uses.
    dir: String,
    package: String,
    /// `ferrocket*` package names in `[dependencies]` and `[build-dependencies]`.
    deps: BTreeSet<String>,
    /// `ferrocket*` package names in `[dev-dependencies]`.
    dev_deps: BTreeSet<String>,
}

/// The block under `EDGES_MARKER`: one `from -> to` per line, or a bare crate name for a crate
/// that depends on no other workspace crate.
#[derive(Debug, Default)]
struct Drawing {
    crates: BTreeSet<String>,
    edges: BTreeSet<(String, String)>,
    /// `from -> to (tests)`: only `from`'s tests may use `to`.
    test_edges: BTreeSet<(String, String)>,
}

#[derive(Clone, Copy, PartialEq)]
enum Section {
    Package,
    Deps,
    DevDeps,
    Other,
}

/// A small reading of the TOML this workspace writes: `[package] name`, and the keys of the
/// dependency tables (`name.workspace = true`, `name = {...}`, `[dependencies.name]`).
fn parse_manifest(dir: &str, text: &str) -> Manifest {
    let mut manifest = Manifest {
        dir: dir.to_owned(),
        ..Manifest::default()
    };
    let mut section = Section::Other;
    for line in text.lines().map(str::trim) {
        if let Some(header) = line.strip_prefix('[') {
            let header = header.trim_end_matches(']').trim();
            // `[target.'cfg(unix)'.dependencies]` counts like `[dependencies]`.
            let table = header.rsplit('.').next().unwrap_or(header);
            section = match (header, table) {
                ("package", _) => Section::Package,
                (_, "dependencies" | "build-dependencies") => Section::Deps,
                (_, "dev-dependencies") => Section::DevDeps,
                _ => Section::Other,
            };
            // `[dependencies.ferrocket-wire]` names its dependency in the header.
            match header.split_once('.') {
                Some(("dependencies" | "build-dependencies", name)) if name.starts_with(PACKAGE_PREFIX) => {
                    manifest.deps.insert(name.to_owned());
                }
                Some(("dev-dependencies", name)) if name.starts_with(PACKAGE_PREFIX) => {
                    manifest.dev_deps.insert(name.to_owned());
                }
                _ => {}
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        match section {
            Section::Package if key == "name" => manifest.package = value.trim().trim_matches('"').to_owned(),
            Section::Deps | Section::DevDeps => {
                let name = key.split('.').next().unwrap_or(key).trim();
                if name.starts_with(PACKAGE_PREFIX) {
                    let set = if section == Section::Deps {
                        &mut manifest.deps
                    } else {
                        &mut manifest.dev_deps
                    };
                    set.insert(name.to_owned());
                }
            }
            _ => {}
        }
    }
    manifest
}

/// Finds the fenced block after `EDGES_MARKER` and reads its lines.
fn parse_drawing(markdown: &str) -> Result<Drawing, String> {
    let mut lines = markdown.lines().skip_while(|line| line.trim() != EDGES_MARKER);
    if lines.next().is_none() {
        return Err(format!("no line `{EDGES_MARKER}`"));
    }
    let mut lines = lines.skip_while(|line| line.trim().is_empty());
    if !lines.next().is_some_and(|line| line.trim_start().starts_with("```")) {
        return Err(format!("`{EDGES_MARKER}` is not followed by a fenced block"));
    }
    let mut drawing = Drawing::default();
    for line in lines {
        let line = line.trim();
        if line.starts_with("```") {
            return Ok(drawing);
        }
        if line.is_empty() {
            continue;
        }
        match line.split_once("->") {
            Some((from, to)) => {
                let (to, tests_only) = match to.trim().strip_suffix("(tests)") {
                    Some(to) => (to, true),
                    None => (to, false),
                };
                let (from, to) = (crate_name(from)?, crate_name(to)?);
                drawing.crates.insert(from.clone());
                drawing.crates.insert(to.clone());
                match tests_only {
                    true => drawing.test_edges.insert((from, to)),
                    false => drawing.edges.insert((from, to)),
                };
            }
            None => {
                drawing.crates.insert(crate_name(line)?);
            }
        }
    }
    Err("the crate edges block has no closing fence".to_owned())
}

fn crate_name(text: &str) -> Result<String, String> {
    let name = text.trim();
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(name.to_owned())
    } else {
        Err(format!("`{name}` is not a crate directory name"))
    }
}

/// Every way the manifests and the drawing disagree, one sentence each; empty when they agree.
fn edge_problems(manifests: &[Manifest], drawing: &Drawing) -> Vec<String> {
    let mut problems = Vec::new();
    let dir_of: BTreeMap<&str, &str> = manifests.iter().map(|m| (m.package.as_str(), m.dir.as_str())).collect();
    let mut actual = BTreeSet::new();
    let mut actual_tests = BTreeSet::new();
    for manifest in manifests {
        let from = manifest.dir.as_str();
        if !drawing.crates.contains(from) {
            problems.push(format!("crate `{from}` is not drawn"));
        }
        for package in &manifest.deps {
            let Some(&to) = dir_of.get(package.as_str()) else {
                problems.push(format!(
                    "crates/{from}/Cargo.toml depends on `{package}`, no crate in crates/"
                ));
                continue;
            };
            actual.insert((from.to_owned(), to.to_owned()));
            if !drawing.edges.contains(&(from.to_owned(), to.to_owned())) {
                problems.push(format!("undrawn edge `{from} -> {to}` (crates/{from}/Cargo.toml)"));
            }
        }
        for package in &manifest.dev_deps {
            let Some(&to) = dir_of.get(package.as_str()) else {
                problems.push(format!(
                    "crates/{from}/Cargo.toml dev-depends on `{package}`, no crate in crates/"
                ));
                continue;
            };
            actual_tests.insert((from.to_owned(), to.to_owned()));
            let drawn_for_tests = drawing.test_edges.contains(&(from.to_owned(), to.to_owned()));
            if !drawn_for_tests && !reachable(drawing, from).contains(to) {
                problems.push(format!(
                    "dev-dependency `{from} -> {to}` points at a crate the drawing does not put below `{from}`"
                ));
            }
        }
    }
    for (from, to) in &drawing.edges {
        if !actual.contains(&(from.clone(), to.clone())) {
            problems.push(format!("drawn edge `{from} -> {to}` is in no Cargo.toml"));
        }
    }
    for (from, to) in &drawing.test_edges {
        if !actual_tests.contains(&(from.clone(), to.clone())) {
            problems.push(format!(
                "drawn test edge `{from} -> {to} (tests)` is in no [dev-dependencies]"
            ));
        }
    }
    for name in &drawing.crates {
        if !manifests.iter().any(|m| &m.dir == name) {
            problems.push(format!("drawn crate `{name}` has no crates/{name}/Cargo.toml"));
        }
    }
    problems
}

/// The crates below `from` along drawn edges.
fn reachable<'a>(drawing: &'a Drawing, from: &str) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_owned()];
    while let Some(node) = todo.pop() {
        for (edge_from, edge_to) in &drawing.edges {
            if *edge_from == node && seen.insert(edge_to.as_str()) {
                todo.push(edge_to.clone());
            }
        }
    }
    seen
}

// ---- file size ----

/// The lines before the first one that starts with `#[cfg(test)]`: the unit tests at the bottom
/// of a file do not count against its size, nor does their code count as library code.
fn non_test_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().take_while(|line| !line.starts_with("#[cfg(test)]"))
}

fn oversized_file(path: &str, text: &str) -> Option<String> {
    let count = non_test_lines(text).count();
    (count > FILE_LINES_MAX).then(|| format!("{path}: {count} lines"))
}

// ---- clock reads ----

/// Library code: every crate's `src/` except the binary's, and not the clock module itself.
fn clock_checked(path: &str) -> bool {
    path.starts_with("crates/")
        && !path.starts_with("crates/cli/")
        && path != CLOCK_MODULE
        && path != CLIENT_CLOCK_MODULE
        && !is_test_path(path)
}

fn is_test_path(path: &str) -> bool {
    path.split('/').any(|part| part == "tests" || part == "benches")
}

/// Each clock read in the file's non-test lines, as `path:line: what`.
fn clock_reads(path: &str, text: &str) -> Vec<String> {
    let lines: Vec<&str> = non_test_lines(text).map(without_comment).collect();
    let imports = std_instant_imports(&lines);
    let mut found = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let number = index + 1;
        let mut report = |what: &str| found.push(format!("{path}:{number}: {what}"));
        if line.contains("SystemTime::now") {
            report("SystemTime::now");
        }
        if line.contains("UNIX_EPOCH") {
            report("UNIX_EPOCH");
        }
        if imports.contains(&number) {
            report("imports std::time::Instant");
        } else if line.contains("std::time::Instant") {
            report("std::time::Instant");
        } else if !imports.is_empty() && calls_bare_instant_now(line) {
            report("Instant::now (std's, imported above)");
        }
    }
    found
}

/// The line numbers of `use` statements that bring std's `Instant` into scope, in any of the
/// forms `use std::time::Instant;`, `use std::time::{Duration, Instant};` (across lines too) and
/// `use std::{time::Instant, ...};`.
fn std_instant_imports(lines: &[&str]) -> BTreeSet<usize> {
    let mut found = BTreeSet::new();
    let mut statement: Option<(usize, String)> = None;
    for (index, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        if statement.is_none() {
            let visibility_end = if trimmed.starts_with("pub") {
                trimmed.find(' ').map_or(0, |i| i + 1)
            } else {
                0
            };
            if trimmed
                .get(visibility_end..)
                .is_some_and(|rest| rest.starts_with("use "))
            {
                statement = Some((index + 1, String::new()));
            }
        }
        let Some((start, text)) = statement.as_mut() else {
            continue;
        };
        text.push_str(trimmed);
        text.push(' ');
        if trimmed.contains(';') {
            let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            let after_use = compact.split_once("use").map_or("", |(_, rest)| rest);
            let names_instant = compact
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .any(|word| word == "Instant");
            if after_use.starts_with("std::") && compact.contains("time::") && names_instant {
                found.insert(*start);
            }
            statement = None;
        }
    }
    found
}

/// `Instant::now` not written as `tokio::time::Instant::now`.
fn calls_bare_instant_now(line: &str) -> bool {
    line.match_indices("Instant::now")
        .any(|(at, _)| !line[..at].ends_with("tokio::time::"))
}

/// The code part of a line: what precedes `//`, so that docs may name what the code must not.
fn without_comment(line: &str) -> &str {
    line.find("//").map_or(line, |at| &line[..at])
}

// ---- broker layers ----

/// Module name -> rank, 0 for the top line of the block; modules on one line share a rank.
fn parse_layers(markdown: &str) -> Result<BTreeMap<String, usize>, String> {
    let mut lines = markdown.lines().skip_while(|line| line.trim() != LAYERS_MARKER);
    if lines.next().is_none() {
        return Err(format!("no line `{LAYERS_MARKER}`"));
    }
    let mut lines = lines.skip_while(|line| line.trim().is_empty());
    if !lines.next().is_some_and(|line| line.trim_start().starts_with("```")) {
        return Err(format!("`{LAYERS_MARKER}` is not followed by a fenced block"));
    }
    let mut layers = BTreeMap::new();
    for (rank, line) in lines
        .take_while(|line| !line.trim_start().starts_with("```"))
        .enumerate()
    {
        for module in line.split_whitespace() {
            layers.insert(crate_name(module)?, rank);
        }
    }
    Ok(layers)
}

/// Each `crate::x` in the file's code that names a module on the same or a higher line than the
/// file's own module, as `path:line: module -> x`. `lib.rs` sits above every layer.
fn layer_problems(path: &str, text: &str, layers: &BTreeMap<String, usize>) -> Vec<String> {
    let Some(inside) = path.strip_prefix(LAYERED_CRATE_SRC) else {
        return Vec::new();
    };
    let module = inside.split('/').next().unwrap_or(inside).trim_end_matches(".rs");
    if module == "lib" {
        return Vec::new();
    }
    let Some(&rank) = layers.get(module) else {
        return vec![format!(
            "{path}: module `{module}` is in no line of the broker's layers"
        )];
    };
    let mut problems = Vec::new();
    for (number, line) in non_test_lines(text).enumerate() {
        let code = without_comment(line);
        for (at, _) in code.match_indices("crate::") {
            let target: String = code[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let allowed = target == module || layers.get(&target).is_some_and(|&below| below > rank);
            if !allowed {
                problems.push(format!("{path}:{}: {module} -> {target}", number + 1));
            }
        }
    }
    problems
}

// ---- walking the workspace ----

/// The directories under `crates/` that hold a Cargo.toml, sorted.
fn crate_dirs(root: &Path) -> Vec<String> {
    let mut dirs: Vec<String> = fs::read_dir(root.join("crates"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("Cargo.toml").is_file())
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    dirs
}

/// Every `crates/*/src/**/*.rs`, as (path relative to the workspace with `/`, text), sorted.
fn source_files(root: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for dir in crate_dirs(root) {
        collect_rs(root, &root.join("crates").join(dir).join("src"), &mut files);
    }
    files.sort();
    files
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
}

// ---- the checks can fail ----

mod checks_fail_on_bad_input {
    use super::*;

    #[test]
    fn unsafe_outside_the_audited_module_fails() {
        let block = "fn f() {\n    let x = unsafe { g() };\n}\n";
        assert_eq!(
            unsafe_uses("crates/net/src/x.rs", block),
            vec!["crates/net/src/x.rs:2: let x = unsafe { g() };"]
        );
        assert!(unsafe_uses(UNSAFE_MODULE, block).is_empty());
        let allow = "#[allow(unsafe_code)]\nmod m;\n";
        assert_eq!(unsafe_uses("crates/wire/src/lib.rs", allow).len(), 1);
        assert!(unsafe_uses(UNSAFE_ALLOWED_IN, allow).is_empty());
        assert!(unsafe_uses("crates/net/src/x.rs", "// unsafe { in a comment }\n").is_empty());
    }

    const LAYERS: &str = "Broker layers, top to bottom (checked by crates/cli/tests/architecture.rs):\n\n```text\nshell\nhandlers\nstate\nerror names\n```\n";

    #[test]
    fn an_import_up_or_sideways_in_the_broker_fails() {
        let layers = parse_layers(LAYERS).unwrap();
        let down = "use crate::state::Broker;\nuse crate::error::BrokerError;\n";
        assert!(layer_problems("crates/broker/src/handlers/send.rs", down, &layers).is_empty());
        let up = "use crate::handlers::admin::X;\n";
        assert_eq!(
            layer_problems("crates/broker/src/state/topics.rs", up, &layers),
            vec!["crates/broker/src/state/topics.rs:1: state -> handlers"]
        );
        let sideways = "    crate::names::f();\n";
        assert_eq!(
            layer_problems("crates/broker/src/error.rs", sideways, &layers),
            vec!["crates/broker/src/error.rs:1: error -> names"]
        );
        let in_tests = "#[cfg(test)]\nmod tests { use crate::shell::x; }\n";
        assert!(layer_problems("crates/broker/src/state/mod.rs", in_tests, &layers).is_empty());
        assert_eq!(
            layer_problems("crates/broker/src/extra.rs", "", &layers),
            vec!["crates/broker/src/extra.rs: module `extra` is in no line of the broker's layers"]
        );
        assert!(layer_problems("crates/broker/src/lib.rs", up, &layers).is_empty());
        assert!(layer_problems("crates/store/src/x.rs", up, &layers).is_empty());
    }

    const DRAWING: &str = "# Architecture\n\n\
        Crate edges (checked by crates/cli/tests/architecture.rs):\n\n\
        ```text\n\
        wire\n\
        net -> wire\n\
        store -> wire\n\
        broker -> net\n\
        broker -> store\n\
        ```\n";

    fn manifest(dir: &str, deps: &str, dev_deps: &str) -> Manifest {
        let package = format!("ferrocket-{dir}");
        let text = format!(
            "[package]\nname = \"{package}\"\nversion.workspace = true\n\n\
             [dependencies]\n{deps}bytes.workspace = true\n\n[dev-dependencies]\n{dev_deps}\n[lints]\nworkspace = true\n"
        );
        parse_manifest(dir, &text)
    }

    fn good_manifests() -> Vec<Manifest> {
        vec![
            manifest("wire", "", ""),
            manifest("net", "ferrocket-wire.workspace = true\n", ""),
            manifest("store", "ferrocket-wire = { path = \"../wire\" }\n", ""),
            manifest(
                "broker",
                "ferrocket-net.workspace = true\nferrocket-store.workspace = true\n",
                "",
            ),
        ]
    }

    fn problems(manifests: &[Manifest]) -> Vec<String> {
        edge_problems(manifests, &parse_drawing(DRAWING).unwrap())
    }

    #[test]
    fn the_drawn_graph_passes() {
        assert_eq!(problems(&good_manifests()), Vec::<String>::new());
    }

    #[test]
    fn an_undrawn_edge_fails_naming_it() {
        let mut manifests = good_manifests();
        manifests[1] = manifest(
            "net",
            "ferrocket-wire.workspace = true\nferrocket-store.workspace = true\n",
            "",
        );
        assert_eq!(
            problems(&manifests),
            vec!["undrawn edge `net -> store` (crates/net/Cargo.toml)"]
        );
    }

    #[test]
    fn a_drawn_edge_no_manifest_has_fails() {
        let mut manifests = good_manifests();
        manifests[3] = manifest("broker", "ferrocket-store.workspace = true\n", "");
        assert_eq!(
            problems(&manifests),
            vec!["drawn edge `broker -> net` is in no Cargo.toml"]
        );
    }

    #[test]
    fn an_undrawn_crate_fails() {
        let mut manifests = good_manifests();
        manifests.push(manifest("client", "", ""));
        assert_eq!(problems(&manifests), vec!["crate `client` is not drawn"]);
    }

    #[test]
    fn dev_dependencies_may_point_down_but_not_up() {
        let mut manifests = good_manifests();
        manifests[3] = manifest(
            "broker",
            "ferrocket-net.workspace = true\nferrocket-store.workspace = true\n",
            "ferrocket-wire.workspace = true\n",
        );
        assert_eq!(problems(&manifests), Vec::<String>::new());
        manifests[0] = manifest("wire", "", "ferrocket-broker.workspace = true\n");
        assert_eq!(
            problems(&manifests),
            vec!["dev-dependency `wire -> broker` points at a crate the drawing does not put below `wire`"]
        );
    }

    #[test]
    fn a_test_only_edge_allows_a_dev_dependency_beside_and_must_exist() {
        let markdown = "Crate edges (checked by crates/cli/tests/architecture.rs):\n\n```text\nwire\nbroker -> wire\nnamesrv -> wire\nbroker -> namesrv (tests)\n```\n";
        let drawing = parse_drawing(markdown).unwrap();
        let wire = manifest("wire", "", "");
        let namesrv = manifest("namesrv", "ferrocket-wire.workspace = true\n", "");
        let with_dev = manifest(
            "broker",
            "ferrocket-wire.workspace = true\n",
            "ferrocket-namesrv.workspace = true\n",
        );
        assert!(edge_problems(&[wire.clone(), namesrv.clone(), with_dev], &drawing).is_empty());
        let without_dev = manifest("broker", "ferrocket-wire.workspace = true\n", "");
        assert_eq!(
            edge_problems(&[wire, namesrv, without_dev], &drawing),
            vec!["drawn test edge `broker -> namesrv (tests)` is in no [dev-dependencies]"]
        );
    }

    #[test]
    fn a_missing_block_fails() {
        assert!(parse_drawing("# Architecture\n\nwire\n").is_err());
        assert!(parse_drawing(&DRAWING.replace("broker -> store\n```\n", "broker -> store\n")).is_err());
        assert!(parse_drawing(&DRAWING.replace("net -> wire", "net => wire")).is_err());
    }

    #[test]
    fn a_file_of_801_lines_fails_and_800_passes() {
        let file = |lines: usize| "let x = 1;\n".repeat(lines);
        assert_eq!(
            oversized_file("crates/x/src/a.rs", &file(801)).unwrap(),
            "crates/x/src/a.rs: 801 lines"
        );
        assert_eq!(oversized_file("crates/x/src/a.rs", &file(800)), None);
        let with_tests = format!("{}#[cfg(test)]\nmod tests {{\n{}}}\n", file(800), file(500));
        assert_eq!(oversized_file("crates/x/src/a.rs", &with_tests), None);
    }

    #[test]
    fn system_time_now_fails() {
        let text = "//! Never calls SystemTime::now.\nfn now_ms() -> u64 {\n    \
                    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64\n}\n";
        assert_eq!(
            clock_reads("crates/broker/src/broker.rs", text),
            vec![
                "crates/broker/src/broker.rs:3: SystemTime::now",
                "crates/broker/src/broker.rs:3: UNIX_EPOCH"
            ]
        );
    }

    #[test]
    fn std_instant_fails_in_every_import_form() {
        for import in [
            "use std::time::Instant;",
            "use std::time::{Duration, Instant};",
            "use std::{\n    sync::OnceLock,\n    time::{\n        Duration,\n        Instant,\n    },\n};",
        ] {
            let text = format!("{import}\n\nfn start() -> Instant {{\n    Instant::now()\n}}\n");
            let call_line = import.lines().count() + 3;
            assert_eq!(
                clock_reads("crates/net/src/log_rate.rs", &text),
                vec![
                    "crates/net/src/log_rate.rs:1: imports std::time::Instant".to_owned(),
                    format!("crates/net/src/log_rate.rs:{call_line}: Instant::now (std's, imported above)"),
                ],
                "{import}"
            );
        }
        let qualified = "fn start() {\n    let _ = std::time::Instant::now();\n}\n";
        assert_eq!(
            clock_reads("crates/a/src/b.rs", qualified),
            vec!["crates/a/src/b.rs:2: std::time::Instant"]
        );
    }

    #[test]
    fn tokio_instant_and_test_code_pass() {
        let text = "use tokio::time::{Instant, sleep};\nuse std::time::Duration;\n\n\
                    fn deadline() -> Instant {\n    Instant::now() + Duration::from_secs(1)\n}\n\
                    fn other() {\n    let _ = tokio::time::Instant::now();\n}\n\n\
                    #[cfg(test)]\nmod tests {\n    use std::time::{Instant, SystemTime};\n    \
                    fn t() {\n        let _ = (Instant::now(), SystemTime::now());\n    }\n}\n";
        assert_eq!(clock_reads("crates/net/src/driver.rs", text), Vec::<String>::new());
    }

    #[test]
    fn only_library_sources_outside_the_clock_module_are_checked() {
        assert!(clock_checked("crates/broker/src/broker.rs"));
        assert!(clock_checked("crates/store/src/service.rs"));
        assert!(!clock_checked(CLOCK_MODULE));
        assert!(!clock_checked(CLIENT_CLOCK_MODULE));
        assert!(clock_checked("crates/client/src/producer.rs"));
        assert!(!clock_checked("crates/cli/src/main.rs"));
        assert!(!clock_checked("crates/store/tests/crash.rs"));
    }
}
