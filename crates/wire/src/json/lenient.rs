//! A lenient JSON reader for what fastjson 1.x writes, producing a `serde_json::Value`.
//!
//! Standard JSON parses exactly as `serde_json` parses it: strings and numbers are cut out of
//! the input and handed to `serde_json` itself, and the nesting limit is serde_json's. On top of
//! that it accepts what Java peers really send (remoting.md §3.1):
//!
//! * object keys that are not strings: bare numbers (`{0:"a"}`), bare identifiers
//!   (`{brokerName:"b"}`), objects and arrays (`{{"brokerName":"b","queueId":0,"topic":"T"}:1}`)
//!   and `true`/`false`/`null`;
//! * `$ref` objects, which are kept as ordinary one-key objects for the typed layer to ignore.
//!
//! Keys are normalised to strings: a string stays itself, a number becomes its decimal text, an
//! identifier its name, and anything else its compact JSON text, so a bean key can be parsed back
//! into its type (e.g. a `MessageQueue`). A key written as a JSON string holding the object (the
//! form fastjson 1.2.83 also accepts) therefore reads the same as the raw object key.
//!
//! Invariants: never panics, recursion is bounded by [`NESTING_DEPTH_MAX`], and the caller
//! bounds the input size (a frame is at most 16 MiB).

use serde_json::{Map, Number, Value};

use crate::error::{WireError, WireResult};

/// Containers nested deeper than this are rejected. It is serde_json's own recursion limit, so
/// standard JSON is accepted and rejected alike, and a hostile body cannot exhaust the stack.
pub const NESTING_DEPTH_MAX: usize = 127;

/// Parses one JSON document, fastjson quirks included. `what` names the body in errors.
pub fn parse(what: &'static str, input: &[u8]) -> WireResult<Value> {
    let text = std::str::from_utf8(input).map_err(|e| WireError::BadUtf8 {
        what,
        offset: e.valid_up_to(),
    })?;
    let mut parser = Parser {
        text,
        pos: 0,
        what,
        in_key: false,
    };
    parser.skip_whitespace();
    let value = parser.value(0)?;
    parser.skip_whitespace();
    if parser.pos != text.len() {
        return Err(parser.error("trailing characters"));
    }
    Ok(value)
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    what: &'static str,
    /// Set while parsing a container used as a key; such keys may not nest (see `key`).
    in_key: bool,
}

impl Parser<'_> {
    fn value(&mut self, depth: usize) -> WireResult<Value> {
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number().map(Value::Number),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(_) => Err(self.error("expected a value")),
            None => Err(self.error("unexpected end of input")),
        }
    }

    fn object(&mut self, depth: usize) -> WireResult<Value> {
        self.check_depth(depth)?;
        self.pos += 1;
        let mut map = Map::new();
        self.skip_whitespace();
        if self.eat(b'}') {
            return Ok(Value::Object(map));
        }
        loop {
            let key = self.key(depth)?;
            self.skip_whitespace();
            if !self.eat(b':') {
                return Err(self.error("expected `:` after an object key"));
            }
            self.skip_whitespace();
            let value = self.value(depth)?;
            // A repeated key keeps the last value, as serde_json and fastjson both do.
            map.insert(key, value);
            self.skip_whitespace();
            if self.eat(b'}') {
                return Ok(Value::Object(map));
            }
            if !self.eat(b',') {
                return Err(self.error("expected `,` or `}` in an object"));
            }
            self.skip_whitespace();
        }
    }

    fn array(&mut self, depth: usize) -> WireResult<Value> {
        self.check_depth(depth)?;
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.eat(b']') {
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.skip_whitespace();
            if self.eat(b']') {
                return Ok(Value::Array(items));
            }
            if !self.eat(b',') {
                return Err(self.error("expected `,` or `]` in an array"));
            }
            self.skip_whitespace();
        }
    }

    /// An object key, normalised to a string (see the module comment).
    fn key(&mut self, depth: usize) -> WireResult<String> {
        match self.peek() {
            Some(b'"') => self.string(),
            Some(b'-' | b'0'..=b'9') => Ok(self.number()?.to_string()),
            // Each level of container keys escapes the quotes of the level inside it again, so
            // nested ones would grow exponentially; fastjson's bean keys never nest.
            Some(b'{' | b'[') if self.in_key => Err(self.error("object key inside an object key")),
            Some(b'{' | b'[') => {
                self.in_key = true;
                let key = self.value(depth)?;
                self.in_key = false;
                serde_json::to_string(&key).map_err(|e| self.error(&e.to_string()))
            }
            Some(byte) if is_identifier_start(byte) => Ok(self.identifier().to_owned()),
            Some(_) => Err(self.error("expected an object key")),
            None => Err(self.error("unexpected end of input")),
        }
    }

    /// A quoted string: its extent is found here, its escapes are decoded by serde_json.
    fn string(&mut self) -> WireResult<String> {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        let mut at = start + 1;
        loop {
            match bytes.get(at) {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => break,
                // Skipping the escaped byte is enough: an escape is followed by ASCII, and
                // continuation bytes of multi-byte characters are never `"` or `\`.
                Some(b'\\') => at += 2,
                Some(_) => at += 1,
            }
        }
        self.pos = at + 1;
        let token = self.text.get(start..self.pos).unwrap_or_default();
        serde_json::from_str(token).map_err(|e| self.error_at(start, &e.to_string()))
    }

    /// A number: its extent is found here, its grammar and value are serde_json's.
    fn number(&mut self) -> WireResult<Number> {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        while bytes
            .get(self.pos)
            .is_some_and(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
        {
            self.pos += 1;
        }
        let token = self.text.get(start..self.pos).unwrap_or_default();
        serde_json::from_str(token).map_err(|e| self.error_at(start, &e.to_string()))
    }

    fn identifier(&mut self) -> &str {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        while bytes.get(self.pos).is_some_and(|&b| is_identifier_part(b)) {
            self.pos += 1;
        }
        self.text.get(start..self.pos).unwrap_or_default()
    }

    fn literal(&mut self, word: &str, value: Value) -> WireResult<Value> {
        let rest = self.text.get(self.pos..).unwrap_or_default();
        if !rest.starts_with(word) {
            return Err(self.error("expected a value"));
        }
        self.pos += word.len();
        Ok(value)
    }

    fn check_depth(&self, depth: usize) -> WireResult<()> {
        if depth > NESTING_DEPTH_MAX {
            return Err(self.error("nesting too deep"));
        }
        Ok(())
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.pos += 1;
        }
        found
    }

    /// JSON's four whitespace bytes; Java's pretty printer uses tabs and newlines.
    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn error(&self, reason: &str) -> WireError {
        self.error_at(self.pos, reason)
    }

    fn error_at(&self, offset: usize, reason: &str) -> WireError {
        WireError::BadJson {
            what: self.what,
            reason: format!("{reason} at byte {offset}"),
        }
    }
}

fn is_identifier_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_' || byte == b'$'
}

fn is_identifier_part(byte: u8) -> bool {
    is_identifier_start(byte) || byte.is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Value {
        parse("test", text.as_bytes()).unwrap()
    }

    #[test]
    fn standard_json_parses_like_serde_json() {
        let samples = [
            r#"{"a":1,"b":[true,false,null],"c":{"d":"e\u00e9\n\"x\"","f":-1.5e3}}"#,
            r#"[0, -0, 1.0, 18446744073709551615, 18446744073709551616, -9223372036854775808, 1e-7]"#,
            "\t{\n\t\t\"a\" : \"\u{1F600}\\ud83d\\ude00\" ,\"a\":2\r\n}\n",
            r#""just a string""#,
            "  42  ",
            "[]",
            "{}",
        ];
        for sample in samples {
            let expected: Value = serde_json::from_str(sample).unwrap();
            assert_eq!(parse_ok(sample), expected, "{sample}");
        }
    }

    #[test]
    fn rejects_what_serde_json_rejects() {
        let samples = [
            "",
            " ",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "[01]",
            "[1-2]",
            "nul",
            "nulll",
            "[\"\\x\"]",
            "\"\u{1}\"",
            "[\"\\ud800\"]",
            "1 2",
            "[1e400]",
            "{\"a\" 1}",
            "[.5]",
            "tru",
            "-",
            "\"abc",
            "[\"a\\",
        ];
        for sample in samples {
            assert!(
                serde_json::from_str::<Value>(sample).is_err(),
                "serde_json accepts {sample:?}"
            );
            assert!(parse("test", sample.as_bytes()).is_err(), "we accept {sample:?}");
        }
    }

    #[test]
    fn reads_bare_numeric_and_identifier_keys() {
        let value = parse_ok(r#"{"offsetTable":{"T@g":{0:42,1:40,-1:7}},brokerName:"b",true:1,null:2}"#);
        assert_eq!(value["offsetTable"]["T@g"]["0"], 42);
        assert_eq!(value["offsetTable"]["T@g"]["-1"], 7);
        assert_eq!(value["brokerName"], "b");
        assert_eq!(value["true"], 1);
        assert_eq!(value["null"], 2);
    }

    #[test]
    fn object_keys_become_their_compact_text() {
        let raw = parse_ok(r#"{ { "brokerName" : "b", "queueId":0,"topic":"T" } : {"maxOffset":10}, [1, 2]:3}"#);
        let quoted = parse_ok(r#"{"{\"brokerName\":\"b\",\"queueId\":0,\"topic\":\"T\"}":{"maxOffset":10}}"#);
        let key = r#"{"brokerName":"b","queueId":0,"topic":"T"}"#;
        assert_eq!(raw[key]["maxOffset"], 10);
        assert_eq!(raw["[1,2]"], 3);
        assert_eq!(quoted[key], raw[key]);
    }

    #[test]
    fn object_keys_do_not_nest() {
        // Re-escaping at every level would make the key text grow as 2^depth.
        let nested = (0..40).fold("{\"a\":\"q\"}".to_owned(), |inner, _| format!("{{{inner}:1}}"));
        assert!(parse("test", nested.as_bytes()).is_err());
        assert!(parse("test", br#"{{{"a":1}:1}:1}"#).is_err());
        assert!(parse("test", br#"{{"a":{"b":[1]}}:1,{"c":2}:3}"#).is_ok());
    }

    #[test]
    fn keeps_ref_objects_as_plain_objects() {
        let value = parse_ok(r#"{"a":{"topic":"T"},"b":{"$ref":"$.a"}}"#);
        assert_eq!(value["b"]["$ref"], "$.a");
    }

    #[test]
    fn nesting_limit_matches_serde_json() {
        let ok = format!("{}{}", "[".repeat(NESTING_DEPTH_MAX), "]".repeat(NESTING_DEPTH_MAX));
        let too_deep = format!(
            "{}{}",
            "[".repeat(NESTING_DEPTH_MAX + 1),
            "]".repeat(NESTING_DEPTH_MAX + 1)
        );
        assert!(serde_json::from_str::<Value>(&ok).is_ok());
        assert!(serde_json::from_str::<Value>(&too_deep).is_err());
        assert!(parse("test", ok.as_bytes()).is_ok());
        assert!(parse("test", too_deep.as_bytes()).is_err());
        // Object keys count towards the depth too, and a huge unclosed nesting fails fast.
        let in_key = |levels: usize| format!("{{{}{}:1}}", "[".repeat(levels), "]".repeat(levels));
        assert!(parse("test", in_key(NESTING_DEPTH_MAX - 1).as_bytes()).is_ok());
        assert!(parse("test", in_key(NESTING_DEPTH_MAX).as_bytes()).is_err());
        assert!(parse("test", "[{".repeat(1_000_000).as_bytes()).is_err());
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed: u32 = 0x1234_5678;
        let alphabet = b"{}[]:,\"\\ 0123456789-+.eEtrufalsn$ab\t\n\xc3\xa9\xff";
        for _ in 0..20_000 {
            let mut input = Vec::new();
            for _ in 0..(seed % 24) {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                input.push(alphabet[(seed >> 16) as usize % alphabet.len()]);
            }
            let ours = parse("test", &input);
            if let Ok(expected) = serde_json::from_slice::<Value>(&input) {
                assert_eq!(ours.ok(), Some(expected), "{input:?}");
            }
        }
    }

    #[test]
    fn rejects_invalid_utf8() {
        assert!(matches!(
            parse("test", b"\"\xff\""),
            Err(WireError::BadUtf8 { offset: 1, .. })
        ));
    }
}
