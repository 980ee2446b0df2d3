//! Bad input never becomes an internal error: every root field of the schema (read by
//! introspection, so a new operation is covered without touching this test) is called
//! with over-long strings, over-large lists, and values at the limits. Over the limits
//! the answer is BAD_USER_INPUT naming the argument; at them, a normal answer or a
//! client error, never INTERNAL_SERVER_ERROR.

use api::users::model::RoleName;
use serde_json::{Map, Value, json};

use crate::helpers::{TestApp, backends};

const INTROSPECTION: &str = r#"
fragment Ref on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }
{ __schema {
    queryType { name } mutationType { name }
    types { kind name
      fields { name args { name type { ...Ref } } type { ...Ref } }
      inputFields { name type { ...Ref } }
      enumValues { name } } } }"#;

/// The defaults of MAX_INPUT_STRING_CHARS and MAX_INPUT_LIST_ITEMS.
const MAX_CHARS: usize = 10_000;
const MAX_ITEMS: usize = 500;

/// What to send for each kind of value.
#[derive(Clone, Copy, Debug)]
struct Variant {
    chars: usize,
    items: usize,
    id: &'static str,
    int: i64,
}

const TOO_LONG: Variant = Variant {
    chars: MAX_CHARS + 1,
    items: 1,
    id: "1",
    int: 1,
};
const TOO_MANY: Variant = Variant {
    chars: 3,
    items: MAX_ITEMS + 1,
    id: "1",
    int: 1,
};
const AT_LIMITS: Variant = Variant {
    chars: MAX_CHARS,
    items: 3,
    id: "1",
    int: 2_147_483_647,
};
const HUGE_IDS: Variant = Variant {
    chars: 20,
    items: 2,
    id: "99999999999999999999",
    int: -2_147_483_648,
};

struct Schema {
    types: Map<String, Value>,
}

impl Schema {
    fn of(&self, name: &str) -> &Value {
        &self.types[name]
    }

    /// A value of `ty` for `variant`, and whether it holds a string or a list.
    fn value(&self, ty: &Value, variant: Variant, depth: usize) -> (Value, bool, bool) {
        match ty["kind"].as_str() {
            Some("NON_NULL") => self.value(&ty["ofType"], variant, depth),
            Some("LIST") => {
                let (item, strings, _) = self.value(&ty["ofType"], variant, depth);
                (Value::Array(vec![item; variant.items]), strings, true)
            }
            Some("ENUM") => {
                let first =
                    self.of(ty["name"].as_str().unwrap_or_default())["enumValues"][0]["name"]
                        .clone();
                (first, false, false)
            }
            Some("INPUT_OBJECT") => {
                let mut object = Map::new();
                let (mut strings, mut lists) = (false, false);
                if depth < 4 {
                    let fields = self.of(ty["name"].as_str().unwrap_or_default())["inputFields"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    for field in fields {
                        let (value, s, l) = self.value(&field["type"], variant, depth + 1);
                        strings |= s;
                        lists |= l;
                        object.insert(field["name"].as_str().unwrap_or_default().into(), value);
                    }
                }
                (Value::Object(object), strings, lists)
            }
            _ => match ty["name"].as_str() {
                Some("ID") => (json!(variant.id), variant.id.len() > MAX_CHARS, false),
                Some("Int") => (json!(variant.int), false, false),
                Some("Float") => (json!(1.5), false, false),
                Some("Boolean") => (json!(true), false, false),
                Some("DateTime") => (json!("2026-01-01T00:00:00Z"), false, false),
                _ => (json!("x".repeat(variant.chars)), true, false),
            },
        }
    }
}

/// `T`, `[T!]!`, … as written in a variable definition.
fn type_name(ty: &Value) -> String {
    match ty["kind"].as_str() {
        Some("NON_NULL") => format!("{}!", type_name(&ty["ofType"])),
        Some("LIST") => format!("[{}]", type_name(&ty["ofType"])),
        _ => ty["name"].as_str().unwrap_or_default().to_owned(),
    }
}

fn named(ty: &Value) -> &Value {
    match ty["kind"].as_str() {
        Some("NON_NULL" | "LIST") => named(&ty["ofType"]),
        _ => ty,
    }
}

/// One request per root field: the document, its variables, and whether the values hold
/// strings and lists.
fn requests(
    schema: &Schema,
    root: &str,
    keyword: &str,
    variant: Variant,
) -> Vec<(String, String, Value, bool, bool)> {
    let mut out = Vec::new();
    for field in schema.of(root)["fields"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let name = field["name"].as_str().unwrap_or_default().to_owned();
        let (mut definitions, mut arguments) = (Vec::new(), Vec::new());
        let mut variables = Map::new();
        let (mut strings, mut lists) = (false, false);
        for (n, arg) in field["args"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let (value, s, l) = schema.value(&arg["type"], variant, 0);
            strings |= s;
            lists |= l;
            definitions.push(format!("$a{n}: {}", type_name(&arg["type"])));
            arguments.push(format!(
                "{}: $a{n}",
                arg["name"].as_str().unwrap_or_default()
            ));
            variables.insert(format!("a{n}"), value);
        }
        let returns = named(&field["type"]);
        let selection = match returns["kind"].as_str() {
            Some("OBJECT" | "INTERFACE" | "UNION") => " { __typename }",
            _ => "",
        };
        let definitions = if definitions.is_empty() {
            String::new()
        } else {
            format!("({})", definitions.join(", "))
        };
        let arguments = if arguments.is_empty() {
            String::new()
        } else {
            format!("({})", arguments.join(", "))
        };
        let document = format!("{keyword}{definitions} {{ {name}{arguments}{selection} }}");
        out.push((name, document, Value::Object(variables), strings, lists));
    }
    // Signing out ends the session the rest of the run uses.
    out.sort_by_key(|(name, ..)| name == "signOut");
    out
}

#[tokio::test]
async fn no_operation_turns_over_long_or_over_large_input_into_an_internal_error() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        // Users 1 and 2 are students, so "1" as a user id never names the admin.
        app.user_with_role("first@uni.edu", RoleName::Student).await;
        app.user_with_role("second@uni.edu", RoleName::Student)
            .await;
        let (_, admin) = app.user_with_role("admin@uni.edu", RoleName::Admin).await;
        let (schema, roots) = introspect(&app, &admin).await;
        let mut checked = 0;
        for (round, variant) in [TOO_LONG, TOO_MANY, AT_LIMITS, HUGE_IDS]
            .into_iter()
            .enumerate()
        {
            // A fresh admin each round: the last one signed out.
            let (_, admin) = app
                .user_with_role(&format!("admin{round}@uni.edu"), RoleName::Admin)
                .await;
            for (root, keyword) in &roots {
                for (name, document, variables, strings, lists) in
                    requests(&schema, root, keyword, variant)
                {
                    let (status, body) = app.post_as(&admin, &document, variables).await;
                    assert!(status.as_u16() < 500, "{variant:?} {name}: {status} {body}");
                    let over = (variant.chars > MAX_CHARS && strings)
                        || (variant.items > MAX_ITEMS && lists);
                    refused_as_the_clients_fault_if(over, &body, &name, variant);
                    checked += 1;
                }
            }
        }
        assert!(checked > 4 * 60, "every root field, each way: {checked}");
        app.stop().await;
    }
}

/// The schema's types by name, and its query and mutation roots with their keywords.
async fn introspect(app: &TestApp, admin: &str) -> (Schema, [(String, &'static str); 2]) {
    let introspected = app.data_as(admin, INTROSPECTION, json!({})).await;
    let schema = Schema {
        types: introspected["__schema"]["types"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|t| (t["name"].as_str().unwrap_or_default().to_owned(), t))
            .collect(),
    };
    let root = |kind: &str| {
        introspected["__schema"][kind]["name"]
            .as_str()
            .expect("a root type")
            .to_owned()
    };
    let roots = [
        (root("queryType"), "query"),
        (root("mutationType"), "mutation"),
    ];
    (schema, roots)
}

/// No answer is an internal error; an input `over` a limit is `BAD_USER_INPUT` alone,
/// naming a field under the operation `name`.
fn refused_as_the_clients_fault_if(over: bool, body: &Value, name: &str, variant: Variant) {
    let codes: Vec<&str> = body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["extensions"]["code"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        !codes.contains(&"INTERNAL_SERVER_ERROR"),
        "{variant:?} {name}: {body}"
    );
    if over {
        assert_eq!(codes, ["BAD_USER_INPUT"], "{variant:?} {name}: {body}");
        let field = body["errors"][0]["extensions"]["field"]
            .as_str()
            .unwrap_or_default();
        assert!(field.starts_with(&format!("{name}.")), "{name}: {body}");
    }
}
