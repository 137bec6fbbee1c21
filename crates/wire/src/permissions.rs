//! Java's `PermName`: the permission bits of a topic (`TopicConfig.perm`, `QueueData.perm`) and
//! of a broker (`brokerPermission`), as they travel in headers, bodies and `topics.json`.
//!
//! ```text
//! bit   3         2      1       0
//!       PRIORITY  READ   WRITE   INHERIT
//! ```
//! `INHERIT` marks a template topic (`TBW102`) whose settings a topic created on send copies;
//! the copy never inherits the bit itself.

/// `PermName.PERM_PRIORITY`: carried in `perm` values as Java writes them, not acted on here.
pub const PERM_PRIORITY: i32 = 1 << 3;
/// Consumers may pull.
pub const PERM_READ: i32 = 1 << 2;
/// Producers may send.
pub const PERM_WRITE: i32 = 1 << 1;
/// A topic created on send may use this topic as its template.
pub const PERM_INHERIT: i32 = 1;
/// Every permission bit a topic can carry.
pub const PERM_ALL: i32 = PERM_PRIORITY | PERM_READ | PERM_WRITE | PERM_INHERIT;

/// Java's `PermName.perm2String`: `R`, `W` and `X` (inherit) in that order, `-` for a bit that
/// is clear; the priority bit is not shown. Remarks that quote a `TopicConfig` use it.
pub fn perm_text(perm: i32) -> String {
    [(PERM_READ, 'R'), (PERM_WRITE, 'W'), (PERM_INHERIT, 'X')]
        .iter()
        .map(|(bit, letter)| if perm & bit != 0 { *letter } else { '-' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_javas() {
        assert_eq!((PERM_PRIORITY, PERM_READ, PERM_WRITE, PERM_INHERIT), (8, 4, 2, 1));
        assert_eq!(PERM_READ | PERM_WRITE, 6, "Java's default topic permission");
    }

    #[test]
    fn text_is_javas_perm2string() {
        assert_eq!(perm_text(PERM_READ | PERM_WRITE), "RW-");
        assert_eq!(perm_text(PERM_READ | PERM_WRITE | PERM_INHERIT), "RWX");
        assert_eq!(perm_text(PERM_PRIORITY | PERM_READ), "R--");
        assert_eq!(perm_text(0), "---");
        assert_eq!(perm_text(-1), "RWX");
    }
}
