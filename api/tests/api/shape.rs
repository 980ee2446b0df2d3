//! The code's shape (issue 13): no source file over 400 lines, the median under 150,
//! no function over 60 lines. Migrations are schema listings and are left out; so is
//! `vendor/` (upstream sqlx, patched).

use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 400;
const MAX_MEDIAN_LINES: usize = 150;
const MAX_FUNCTION_LINES: usize = 60;

/// Every `.rs` file of the crates we write, tests and benches included.
fn sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found = Vec::new();
    let mut folders: Vec<PathBuf> = ["api", "deploy", "bench", "entities"]
        .iter()
        .map(|c| root.join(c))
        .collect();
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("a source folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() && !path.ends_with("target") {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The functions of `text` (formatted by rustfmt) longer than the limit, as
/// (first line, name, lines). A function runs from its `fn` line to the first line
/// holding only `}` at the same indentation; declarations without a body are skipped.
fn long_functions(text: &str) -> Vec<(usize, String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut long = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let code = line.trim_start();
        let indent = &line[..line.len() - code.len()];
        let Some(name) = function_name(code) else {
            continue;
        };
        let Some(signature_end) = lines[start..]
            .iter()
            .position(|l| l.ends_with('{') || l.ends_with(';') || l.ends_with('}'))
        else {
            continue;
        };
        let opening = lines[start + signature_end];
        if !opening.ends_with('{') {
            continue;
        }
        let closing = format!("{indent}}}");
        if let Some(length) = lines[start..].iter().position(|l| *l == closing)
            && length + 1 > MAX_FUNCTION_LINES
        {
            long.push((start + 1, name, length + 1));
        }
    }
    long
}

/// The name declared when `code` (a trimmed line) starts a function.
fn function_name(code: &str) -> Option<String> {
    let mut rest = code;
    for qualifier in [
        "pub(crate) ",
        "pub(super) ",
        "pub ",
        "const ",
        "async ",
        "unsafe ",
    ] {
        rest = rest.strip_prefix(qualifier).unwrap_or(rest);
    }
    let rest = rest.strip_prefix("async ").unwrap_or(rest);
    let rest = rest.strip_prefix("fn ")?;
    let name: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

#[test]
fn no_file_or_function_is_longer_than_the_shape_allows() {
    let mut sizes = Vec::new();
    let mut problems = Vec::new();
    for path in sources() {
        let text = std::fs::read_to_string(&path).expect("a source file");
        let lines = text.lines().count();
        sizes.push(lines);
        if lines > MAX_FILE_LINES {
            problems.push(format!("{}: {lines} lines", path.display()));
        }
        for (line, name, length) in long_functions(&text) {
            problems.push(format!(
                "{}:{line}: fn {name} is {length} lines",
                path.display()
            ));
        }
    }
    sizes.sort_unstable();
    let median = sizes[sizes.len() / 2];
    assert!(
        median < MAX_MEDIAN_LINES,
        "median file {median} lines over {} files",
        sizes.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_shape_counter_finds_a_long_function_and_skips_a_declaration() {
    let body = "    let x = 1;\n".repeat(MAX_FUNCTION_LINES);
    let text = format!(
        "trait T {{\n    fn declared(\n        &self,\n    ) -> u8;\n}}\n\npub async fn long() {{\n{body}}}\n\nfn short() {{}}\n"
    );
    let found = long_functions(&text);
    assert_eq!(found, [(7, "long".to_owned(), MAX_FUNCTION_LINES + 2)]);
}
