//! The SQL92 selector compiler and evaluator: any text compiles or is refused, never panics, and
//! a compiled expression evaluates over any properties without panicking. The input's first line
//! is the expression; each further line `name=value` is a property.
#![no_main]
use ferrocket_broker::state::sql_filter;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let expression = lines.next().unwrap_or("");
    let properties: Vec<(&str, &str)> = lines.filter_map(|line| line.split_once('=')).collect();
    for source in [expression, text.as_ref()] {
        if let Ok(compiled) = sql_filter::parse(source) {
            let lookup = |name: &str| properties.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
            let _ = compiled.matches(&lookup);
            // Java's toString of a compiled expression never panics either.
            let _ = compiled.to_string();
        }
    }
});
