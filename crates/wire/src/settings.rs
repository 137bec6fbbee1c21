//! The shape of a server's settings table: each Java property name with who may set it, how its
//! value is shown and how it is parsed. The name server (`NamesrvConfig`) and the broker
//! (`BrokerConfig`) each keep one `&[Setting<Config>]`, sorted by key, which serves their config
//! file at start-up, their UPDATE_*_CONFIG request at run time and their GET_*_CONFIG answer.
//!
//! The value parsers here are stricter than Java's: `Boolean.parseBoolean` reads any typo as
//! `false` and a number out of range is accepted, so a bad file would start a server that does
//! something other than what its operator wrote. Here such a file fails at start and such an
//! update is refused, with a phrase saying what was expected.

/// Who may set a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A config file at start-up, and the server's UPDATE_*_CONFIG request at run time: behaviour
    /// switches and numbers, never a path, an address to bind or a command.
    Runtime,
    /// A config file at start-up only: paths, ports, identity, or values read only then.
    Startup,
}

/// One setting of a configuration `C`: its Java property name, who may set it, how to show it
/// and how to parse and store a value.
pub struct Setting<C> {
    pub key: &'static str,
    pub scope: Scope,
    /// The value as GET_*_CONFIG shows it, in the syntax `set` reads back.
    pub show: fn(&C) -> String,
    /// Parses and stores a value, or says what was expected (a range with its bounds).
    pub set: fn(&mut C, &str) -> Result<(), String>,
}

/// The setting named `key` in `settings`.
pub fn find<'a, C>(settings: &'a [Setting<C>], key: &str) -> Option<&'a Setting<C>> {
    settings.iter().find(|setting| setting.key == key)
}

/// A boolean setting, stricter than Java's `Boolean.parseBoolean` (which reads any typo as
/// `false`): `true` or `false` in any case, else an error naming what was expected.
pub fn parse_bool(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("true or false".to_owned()),
    }
}

/// A whole-number setting within `low..=high`; the error names the range.
pub fn parse_in(value: &str, (low, high): (u64, u64)) -> Result<u64, String> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| (low..=high).contains(n))
        .ok_or_else(|| format!("a whole number from {low} to {high}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Example {
        enabled: bool,
        period_ms: u64,
    }

    const EXAMPLE_SETTINGS: &[Setting<Example>] = &[
        Setting {
            key: "enabled",
            scope: Scope::Runtime,
            show: |c| c.enabled.to_string(),
            set: |c, v| parse_bool(v).map(|b| c.enabled = b),
        },
        Setting {
            key: "periodMs",
            scope: Scope::Startup,
            show: |c| c.period_ms.to_string(),
            set: |c, v| parse_in(v, (1, 10)).map(|n| c.period_ms = n),
        },
    ];

    #[test]
    fn booleans_are_true_or_false_in_any_case() {
        assert_eq!(parse_bool("TRUE"), Ok(true));
        assert_eq!(parse_bool("False"), Ok(false));
        for typo in ["yes", "1", "", "tru", " true"] {
            assert_eq!(parse_bool(typo), Err("true or false".to_owned()), "{typo:?}");
        }
    }

    #[test]
    fn numbers_are_whole_and_within_the_range() {
        assert_eq!(parse_in("1", (1, 10)), Ok(1));
        assert_eq!(parse_in("10", (1, 10)), Ok(10));
        for bad in ["0", "11", "-1", "1.5", "", "+", "99999999999999999999"] {
            assert!(parse_in(bad, (1, 10)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_table_finds_shows_and_sets_by_java_name() {
        let mut config = Example::default();
        let enabled = find(EXAMPLE_SETTINGS, "enabled").unwrap();
        assert_eq!(enabled.scope, Scope::Runtime);
        (enabled.set)(&mut config, "true").unwrap();
        assert_eq!((enabled.show)(&config), "true");
        let period = find(EXAMPLE_SETTINGS, "periodMs").unwrap();
        assert_eq!(
            (period.set)(&mut config, "11"),
            Err("a whole number from 1 to 10".to_owned())
        );
        (period.set)(&mut config, "7").unwrap();
        assert_eq!((period.show)(&config), "7");
        assert!(find(EXAMPLE_SETTINGS, "periodms").is_none());
    }
}
