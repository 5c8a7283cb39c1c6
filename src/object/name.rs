//! An object's name, kept in the form that costs nothing to make: a default name is
//! its type prefix and number, formatted only when someone reads it as text.

use core::fmt;

/// An object's name: a default one (`<prefix><n>`, unique per prefix across the
/// process) or one the caller gave.
#[derive(Clone, Debug)]
pub(super) enum Name {
    Default { prefix: &'static str, n: u64 },
    Given(String),
}

impl Name {
    /// Whether the name reads as `text`, without formatting it.
    pub(super) fn is(&self, text: &str) -> bool {
        match self {
            Self::Given(name) => name == text,
            Self::Default { prefix, n } => text
                .strip_prefix(prefix)
                .is_some_and(|digits| is_decimal(digits, *n)),
        }
    }

    /// Whether two names read the same.
    pub(super) fn same_as(&self, other: &Name) -> bool {
        match (self, other) {
            (Self::Default { prefix: a, n: x }, Self::Default { prefix: b, n: y }) if a == b => {
                x == y
            }
            // Two prefixes can still spell one name (`element1` + `2`, `element` +
            // `12`); the objects of one tree share one type, so this is rare.
            (Self::Default { .. }, other @ Self::Default { .. }) => other.is(&self.to_string()),
            (Self::Given(text), name) | (name, Self::Given(text)) => name.is(text),
        }
    }
}

/// Whether `digits` is `n` written in decimal, as `{n}` writes it: no sign, no leading
/// zero. Same length and same value is enough: a sign or a leading zero would take a
/// place that a digit of `n` needs.
fn is_decimal(digits: &str, n: u64) -> bool {
    digits.len() == n.checked_ilog10().map_or(1, |log| log as usize + 1)
        && digits.parse::<u64>() == Ok(n)
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default { prefix, n } => write!(f, "{prefix}{n}"),
            Self::Given(name) => f.write_str(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default(n: u64) -> Name {
        Name::Default {
            prefix: "element",
            n,
        }
    }

    #[test]
    fn a_default_name_reads_as_its_formatted_text() {
        for n in [0, 1, 9, 10, 99, 100, 12_345, u64::MAX] {
            let name = default(n);
            let text = name.to_string();
            assert!(name.is(&text), "{text}");
            assert!(name.same_as(&Name::Given(text.clone())));
            assert!(Name::Given(text.clone()).same_as(&name));
        }
    }

    #[test]
    fn a_default_name_is_not_a_near_miss() {
        let name = default(12);
        for text in [
            "element1",
            "element120",
            "element012",
            "element+12",
            "element 12",
            "elemen12",
            "element12 ",
            "Element12",
            "element",
            "",
        ] {
            assert!(!name.is(text), "{text}");
        }
        assert!(!default(0).is("element00"));
        assert!(!default(0).is("element+0"));
        assert!(!default(12).same_as(&default(21)));
        let other = Name::Default {
            prefix: "elemen",
            n: 112,
        };
        assert!(!default(12).same_as(&other), "element12 vs elemen112");
        let spelled_alike = Name::Default {
            prefix: "element1",
            n: 2,
        };
        assert!(default(12).same_as(&spelled_alike), "element12 both");
        assert!(default(7).same_as(&default(7)));
    }
}
