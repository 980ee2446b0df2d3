//! Every argument value of the operation about to run, variables resolved, is bounded up
//! front: strings by characters, lists by items. Services check each field's own rules
//! (a name of at most 100 characters); this bound holds for every argument and input
//! field of every operation, new ones included, so no over-long value reaches a database
//! (an index row too large, a statement with too many parameters).

use async_graphql::{
    Name, Variables,
    parser::types::{ExecutableDocument, OperationDefinition, Selection, SelectionSet},
};
use async_graphql_value::{ConstValue, Value};

/// The bounds on one value.
#[derive(Clone, Copy, Debug)]
pub struct InputLimits {
    /// Characters in any string (or ID) argument or input field.
    pub string_chars: usize,
    /// Items in any list argument or input field.
    pub list_items: usize,
}

/// Which value broke a bound, named by its path (`createProject.input.description`).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: at most {max} characters (MAX_INPUT_STRING_CHARS)")]
    StringTooLong { path: String, max: usize },
    #[error("{path}: at most {max} items (MAX_INPUT_LIST_ITEMS)")]
    ListTooLong { path: String, max: usize },
}

impl InputError {
    pub fn path(&self) -> &str {
        match self {
            InputError::StringTooLong { path, .. } | InputError::ListTooLong { path, .. } => path,
        }
    }
}

/// Checks the arguments of the operation a request runs (the one named, or the only one).
pub fn check(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    limits: InputLimits,
) -> Result<(), InputError> {
    let Some(operation) = super::operation(document, operation_name) else {
        return Ok(()); // async-graphql reports the missing operation
    };
    Walk {
        document,
        variables,
        limits,
        depth: 0,
    }
    .operation(&operation.node)
}

/// Fragments nest at most this deep here (cycles are refused earlier, by the shape check).
const MAX_SPREAD_DEPTH: usize = 64;

struct Walk<'a> {
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    limits: InputLimits,
    depth: usize,
}

impl Walk<'_> {
    fn operation(&mut self, operation: &OperationDefinition) -> Result<(), InputError> {
        // Variables with defaults that the request did not send.
        for definition in &operation.variable_definitions {
            let definition = &definition.node;
            if let Some(default) = &definition.default_value {
                let path = format!("${}", definition.name.node);
                self.constant(&default.node, &path)?;
            }
        }
        self.selections(&operation.selection_set.node)
    }

    fn selections(&mut self, set: &SelectionSet) -> Result<(), InputError> {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    for (name, value) in &field.arguments {
                        let path = format!("{}.{}", field.name.node, name.node);
                        self.value(&value.node, &path)?;
                    }
                    self.selections(&field.selection_set.node)?;
                }
                Selection::InlineFragment(fragment) => {
                    self.selections(&fragment.node.selection_set.node)?;
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    if let Some(fragment) = self.document.fragments.get(name)
                        && self.depth < MAX_SPREAD_DEPTH
                    {
                        self.depth += 1;
                        self.selections(&fragment.node.selection_set.node)?;
                        self.depth -= 1;
                    }
                }
            }
        }
        Ok(())
    }

    fn value(&self, value: &Value, path: &str) -> Result<(), InputError> {
        match value {
            Value::Variable(name) => match self.variables.get(name) {
                Some(value) => self.constant(value, path),
                None => Ok(()),
            },
            Value::String(text) => self.string(text, path),
            Value::List(items) => {
                self.list(items.len(), path)?;
                items
                    .iter()
                    .enumerate()
                    .try_for_each(|(index, item)| self.value(item, &indexed(path, index)))
            }
            Value::Object(fields) => fields
                .iter()
                .try_for_each(|(name, field)| self.value(field, &member(path, name))),
            Value::Null
            | Value::Number(_)
            | Value::Boolean(_)
            | Value::Binary(_)
            | Value::Enum(_) => Ok(()),
        }
    }

    fn constant(&self, value: &ConstValue, path: &str) -> Result<(), InputError> {
        match value {
            ConstValue::String(text) => self.string(text, path),
            ConstValue::List(items) => {
                self.list(items.len(), path)?;
                items
                    .iter()
                    .enumerate()
                    .try_for_each(|(index, item)| self.constant(item, &indexed(path, index)))
            }
            ConstValue::Object(fields) => fields
                .iter()
                .try_for_each(|(name, field)| self.constant(field, &member(path, name))),
            ConstValue::Null
            | ConstValue::Number(_)
            | ConstValue::Boolean(_)
            | ConstValue::Binary(_)
            | ConstValue::Enum(_) => Ok(()),
        }
    }

    fn string(&self, text: &str, path: &str) -> Result<(), InputError> {
        let max = self.limits.string_chars;
        // Bytes bound characters from above: count only when the bytes could be too many.
        if text.len() > max && text.chars().count() > max {
            return Err(InputError::StringTooLong {
                path: path.to_owned(),
                max,
            });
        }
        Ok(())
    }

    fn list(&self, items: usize, path: &str) -> Result<(), InputError> {
        let max = self.limits.list_items;
        if items > max {
            return Err(InputError::ListTooLong {
                path: path.to_owned(),
                max,
            });
        }
        Ok(())
    }
}

fn indexed(path: &str, index: usize) -> String {
    format!("{path}[{index}]")
}

fn member(path: &str, name: &Name) -> String {
    format!("{path}.{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: InputLimits = InputLimits {
        string_chars: 5,
        list_items: 2,
    };

    fn run(query: &str, variables: serde_json::Value) -> Result<(), InputError> {
        let document = async_graphql::parser::parse_query(query).expect("parses");
        let variables = Variables::from_json(variables);
        check(&document, None, &variables, LIMITS)
    }

    #[test]
    fn literals_and_variables_are_bounded_and_named_by_path() {
        assert!(run(r#"{ a(x: "12345", l: [1, 2]) }"#, serde_json::json!({})).is_ok());
        let error = run(r#"{ a(x: "123456") }"#, serde_json::json!({})).expect_err("long");
        assert_eq!(error.path(), "a.x");
        let error = run(
            "query($i: In!) { b { c(input: $i) } }",
            serde_json::json!({ "i": { "tags": ["a", "b", "c"] } }),
        )
        .expect_err("a long list");
        assert_eq!(error.path(), "c.input.tags");
        let error = run(
            "query($i: In!) { ...F } fragment F on Query { c(input: $i) }",
            serde_json::json!({ "i": { "rows": [{ "name": "abcdef" }] } }),
        )
        .expect_err("inside a fragment");
        assert_eq!(error.path(), "c.input.rows[0].name");
    }

    #[test]
    fn characters_count_not_bytes() {
        assert!(run(r#"{ a(x: "ééééé") }"#, serde_json::json!({})).is_ok());
        assert!(run(r#"{ a(x: "éééééé") }"#, serde_json::json!({})).is_err());
    }

    #[test]
    fn defaults_of_variables_are_bounded_too() {
        let error = run(
            r#"query($x: String = "toolong") { a(x: $x) }"#,
            serde_json::json!({}),
        )
        .expect_err("a long default");
        assert_eq!(error.path(), "$x");
    }
}
