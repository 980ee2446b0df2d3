//! Limits on a document's shape, checked right after parsing and before anything else
//! looks at it: fields after fragment expansion (every `__typename`, alias and repeated
//! spread counted), root fields, aliases and fragment spreads. Fragments are expanded by
//! counting, once each (memoised), so a document whose fragments spread each other
//! exponentially costs linear time here and is refused before validation (which expands
//! them for real) ever sees it. A fragment that spreads itself is refused here too.

use std::collections::HashMap;

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

/// The most a document may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShapeLimits {
    /// Fields selected after fragment expansion, in any one operation.
    pub fields: u64,
    /// Root fields after fragment expansion, in any one operation.
    pub root_fields: u64,
    /// Aliased fields written in the document.
    pub aliases: u64,
    /// Fragment spreads written in the document.
    pub fragment_spreads: u64,
}

/// Which limit a document broke, and by how much.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShapeError {
    /// A limit; `setting` names its configuration variable.
    TooLarge {
        what: &'static str,
        found: u64,
        limit: u64,
        setting: &'static str,
    },
    /// A fragment spreads itself, directly or through others.
    FragmentCycle(String),
}

impl std::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShapeError::TooLarge {
                what,
                found,
                limit,
                setting,
            } => {
                let found = if *found == u64::MAX {
                    "too many".to_owned()
                } else {
                    found.to_string()
                };
                write!(
                    f,
                    "the query has {found} {what}; at most {limit} are allowed ({setting})"
                )
            }
            ShapeError::FragmentCycle(name) => {
                write!(f, "the fragment `{name}` spreads itself")
            }
        }
    }
}

/// Checks `document` against `limits`.
pub fn check(document: &ExecutableDocument, limits: &ShapeLimits) -> Result<(), ShapeError> {
    let mut written = Written::default();
    for (_, operation) in document.operations.iter() {
        written.visit(&operation.node.selection_set.node);
    }
    for fragment in document.fragments.values() {
        written.visit(&fragment.node.selection_set.node);
    }
    too_large(
        "aliases",
        written.aliases,
        limits.aliases,
        "MAX_QUERY_ALIASES",
    )?;
    too_large(
        "fragment spreads",
        written.spreads,
        limits.fragment_spreads,
        "MAX_FRAGMENT_SPREADS",
    )?;
    let mut expanded = Expanded {
        document,
        fragments: HashMap::new(),
    };
    for (_, operation) in document.operations.iter() {
        let count = expanded.count(&operation.node.selection_set.node)?;
        too_large(
            "root fields after fragments are expanded",
            count.root,
            limits.root_fields,
            "MAX_ROOT_FIELDS",
        )?;
        too_large(
            "fields after fragments are expanded",
            count.all,
            limits.fields,
            "MAX_QUERY_FIELDS",
        )?;
    }
    Ok(())
}

fn too_large(
    what: &'static str,
    found: u64,
    limit: u64,
    setting: &'static str,
) -> Result<(), ShapeError> {
    if found > limit {
        return Err(ShapeError::TooLarge {
            what,
            found,
            limit,
            setting,
        });
    }
    Ok(())
}

/// What the document's text holds, fragments counted where they are written.
#[derive(Default)]
struct Written {
    aliases: u64,
    spreads: u64,
}

impl Written {
    fn visit(&mut self, set: &SelectionSet) {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    if field.node.alias.is_some() {
                        self.aliases += 1;
                    }
                    self.visit(&field.node.selection_set.node);
                }
                Selection::FragmentSpread(_) => self.spreads += 1,
                Selection::InlineFragment(inline) => self.visit(&inline.node.selection_set.node),
            }
        }
    }
}

/// Fields of a selection set once fragments are expanded: at its own level, and in all.
#[derive(Clone, Copy, Default)]
struct Count {
    root: u64,
    all: u64,
}

impl Count {
    fn add(self, other: Count) -> Count {
        Count {
            root: self.root.saturating_add(other.root),
            all: self.all.saturating_add(other.all),
        }
    }
}

enum Memo {
    Counting,
    Done(Count),
}

struct Expanded<'a> {
    document: &'a ExecutableDocument,
    fragments: HashMap<&'a str, Memo>,
}

impl<'a> Expanded<'a> {
    fn count(&mut self, set: &'a SelectionSet) -> Result<Count, ShapeError> {
        let mut total = Count::default();
        for item in &set.items {
            let part = match &item.node {
                Selection::Field(field) => {
                    let below = self.count(&field.node.selection_set.node)?;
                    Count {
                        root: 1,
                        all: below.all.saturating_add(1),
                    }
                }
                Selection::InlineFragment(inline) => self.count(&inline.node.selection_set.node)?,
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.node.fragment_name.node.as_str())?
                }
            };
            total = total.add(part);
        }
        Ok(total)
    }

    fn fragment(&mut self, name: &'a str) -> Result<Count, ShapeError> {
        match self.fragments.get(name) {
            Some(Memo::Done(count)) => return Ok(*count),
            Some(Memo::Counting) => return Err(ShapeError::FragmentCycle(name.to_owned())),
            None => {}
        }
        // An unknown fragment selects nothing here; validation reports it.
        let Some((key, definition)) = self.document.fragments.get_key_value(name) else {
            return Ok(Count::default());
        };
        self.fragments.insert(key.as_str(), Memo::Counting);
        let count = self.count(&definition.node.selection_set.node)?;
        self.fragments.insert(key.as_str(), Memo::Done(count));
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    const LIMITS: ShapeLimits = ShapeLimits {
        fields: 100,
        root_fields: 10,
        aliases: 5,
        fragment_spreads: 20,
    };

    fn checked(query: &str) -> Result<(), ShapeError> {
        check(&parse_query(query).expect("parses"), &LIMITS)
    }

    #[test]
    fn every_field_counts_after_expansion_typename_and_aliases_included() {
        assert_eq!(checked("{ a { b c } __typename }"), Ok(()));
        // 2 spreads of a 60-field fragment: 120 fields.
        let fields: Vec<String> = (0..60).map(|i| format!("f{i}")).collect();
        let query = format!(
            "query {{ x {{ ...F }} y {{ ...F }} }} fragment F on T {{ {} }}",
            fields.join(" ")
        );
        assert!(matches!(
            checked(&query),
            Err(ShapeError::TooLarge {
                found: 122,
                setting: "MAX_QUERY_FIELDS",
                ..
            })
        ));
    }

    #[test]
    fn a_fragment_bomb_is_counted_in_linear_time_and_refused() {
        // F0 spreads F1 twice, F1 spreads F2 twice, …: 2^40 fields once expanded.
        let mut query = String::from("{ ...F0 }");
        for i in 0..40 {
            query.push_str(&format!(
                " fragment F{i} on Q {{ ...F{n} ...F{n} }}",
                n = i + 1
            ));
        }
        query.push_str(" fragment F40 on Q { __typename }");
        let refused = checked(&query);
        assert!(
            matches!(
                refused,
                Err(ShapeError::TooLarge {
                    setting: "MAX_FRAGMENT_SPREADS",
                    ..
                })
            ),
            "{refused:?}"
        );
        let roomy = ShapeLimits {
            fragment_spreads: 1000,
            ..LIMITS
        };
        let refused = check(&parse_query(&query).expect("parses"), &roomy);
        assert!(
            matches!(
                refused,
                Err(ShapeError::TooLarge {
                    setting: "MAX_ROOT_FIELDS",
                    ..
                })
            ),
            "{refused:?}"
        );
    }

    #[test]
    fn aliases_root_fields_and_cycles_are_limited() {
        let aliases: Vec<String> = (0..6).map(|i| format!("a{i}: me {{ id }}")).collect();
        assert!(matches!(
            checked(&format!("{{ {} }}", aliases.join(" "))),
            Err(ShapeError::TooLarge {
                setting: "MAX_QUERY_ALIASES",
                ..
            })
        ));
        let roots: Vec<String> = (0..11).map(|i| format!("f{i}")).collect();
        assert!(matches!(
            checked(&format!("{{ {} }}", roots.join(" "))),
            Err(ShapeError::TooLarge {
                setting: "MAX_ROOT_FIELDS",
                found: 11,
                ..
            })
        ));
        assert_eq!(
            checked("{ ...A } fragment A on Q { x { ...B } } fragment B on X { ...A }"),
            Err(ShapeError::FragmentCycle("A".into()))
        );
    }
}
