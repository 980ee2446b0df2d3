//! The attacker: the worst request shapes, sent as fast as the gateway answers, and a
//! tally of what came back.

use super::*;

/// One hostile request: a name, a body, and a token.
pub(super) struct Shape {
    pub(super) name: &'static str,
    /// Serialised once: the attacker's own CPU is not what is measured.
    pub(super) body: Vec<u8>,
    pub(super) token: Option<String>,
}

/// The most a list-heavy query may ask while staying within the default limits.
pub(super) const WIDE: &str = "{ projects(first: 100) { edges { node { id name owner { username } \
    collaborators { username } tags { name } courses { group students { username } } } } } }";

pub(super) fn shape(name: &'static str, body: Value, token: Option<String>) -> Shape {
    Shape {
        name,
        body: serde_json::to_vec(&body).unwrap_or_default(),
        token,
    }
}

/// 2^20 fields from 21 fragments that each spread the next twice.
fn fragment_bomb() -> String {
    let mut bomb = String::from("{ ...F0 }");
    for i in 0..20 {
        bomb.push_str(&format!(
            " fragment F{i} on Query {{ ...F{n} ...F{n} }}",
            n = i + 1
        ));
    }
    bomb.push_str(" fragment F20 on Query { __typename }");
    bomb
}

/// Projects and their owners' projects, 61 levels deep.
fn deep_nesting() -> String {
    let mut deep = String::from("{ projects(first: 1) { edges { node { id ");
    for _ in 0..60 {
        deep.push_str("owner { projects(first: 1) { edges { node { id ");
    }
    deep.push_str(&"} } } } ".repeat(61));
    deep.push('}');
    deep
}

pub(super) fn shapes(token: &str) -> Vec<Shape> {
    let aliases: String = (0..2000).map(|i| format!("a{i}: __typename ")).collect();
    let signed = Some(token.to_owned());
    vec![
        shape("fragment bomb", json!({ "query": fragment_bomb() }), None),
        shape(
            "alias flood",
            json!({ "query": format!("{{ {aliases} }}") }),
            None,
        ),
        shape(
            "deep nesting",
            json!({ "query": deep_nesting() }),
            signed.clone(),
        ),
        shape(
            "1 MB argument",
            json!({ "query": "query($s: String) { users(filter: { search: $s }) { totalCount } }",
                          "variables": { "s": "x".repeat(1_000_000) } }),
            signed.clone(),
        ),
        shape(
            "over-long argument",
            json!({ "query": "query($s: String) { users(filter: { search: $s }) { totalCount } }",
                          "variables": { "s": "%".repeat(10_001) } }),
            signed.clone(),
        ),
        shape(
            "widest admitted query",
            json!({ "query": WIDE }),
            signed.clone(),
        ),
        shape(
            "batch of widest",
            Value::Array(vec![json!({ "query": WIDE }); 10]),
            signed.clone(),
        ),
        shape(
            "search scan",
            json!({ "query": "{ users(first: 100, filter: { search: \"a\" }) { edges { node { username } } } }" }),
            signed.clone(),
        ),
        shape(
            "mutation flood",
            json!({ "query": "mutation { updateMyProfile(input: { firstName: \"Mallory\" }) { id } }" }),
            signed,
        ),
        shape(
            "bad token",
            json!({ "query": "{ __typename }" }),
            Some("not.a.token".into()),
        ),
    ]
}

/// Per shape and answer: how many, and their total time in microseconds.
pub(super) type Tally = Arc<Mutex<BTreeMap<String, (u64, u64)>>>;

pub(super) fn count(tally: &Tally, key: String, micros: u64) {
    let mut tally = tally
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let entry = tally.entry(key).or_default();
    entry.0 += 1;
    entry.1 += micros;
}

pub(super) async fn attacker(
    client: reqwest::Client,
    url: String,
    shapes: Arc<Vec<Shape>>,
    worker: usize,
    stop: Arc<AtomicBool>,
    tally: Tally,
) {
    let mut next = worker;
    while !stop.load(Ordering::Relaxed) {
        let shape = &shapes[next % shapes.len()];
        next += 1;
        let sent = Instant::now();
        let mut request = client
            .post(&url)
            .header("content-type", "application/json")
            .body(shape.body.clone());
        if let Some(token) = &shape.token {
            request = request.bearer_auth(token);
        }
        let outcome = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response.bytes().await.unwrap_or_default();
                let code = serde_json::from_slice::<Value>(&body)
                    .ok()
                    .and_then(|v| {
                        let first = if v.is_array() { v[0].clone() } else { v };
                        first["errors"][0]["extensions"]["code"]
                            .as_str()
                            .map(str::to_owned)
                    })
                    .unwrap_or_else(|| "data".into());
                format!("{status} {code}")
            }
            Err(_) => "connection error".into(),
        };
        count(
            &tally,
            format!("{}: {outcome}", shape.name),
            sent.elapsed().as_micros() as u64,
        );
    }
}
