//! A signed-in user's row and roles are kept in process between their requests (issue
//! 14: one round trip less on nearly every request), and every change to them acts on
//! their next request: made on this replica (forgotten before the mutation answers), on
//! another replica or behind the gateway's back (PostgreSQL NOTIFY from a trigger).

use std::time::Duration;

use sea_orm::ConnectionTrait;

use super::*;
use crate::{
    deploys::{Deployer, replica::Replica},
    helpers::eventually,
};

#[tokio::test]
async fn a_signed_in_users_next_request_reads_nothing_from_the_users_database() {
    for backend in backends() {
        for (flags, expected) in [(&[][..], 0), (&["--viewer-cache-secs", "0"][..], 1)] {
            let app = TestApp::spawn_with(backend, flags).await;
            let (_, kim) = app.user_with_role("kim@uni.edu", RoleName::Student).await;
            // On PostgreSQL the NOTIFY of kim's creation comes a moment later and
            // forgets her once more: the first request after it is read again.
            let cost = || async {
                let before = app.statements().users;
                let me = app.data_as(&kim, "{ me { email } }", json!({})).await;
                assert_eq!(me["me"]["email"], "kim@uni.edu");
                app.statements().users - before
            };
            let settled = Duration::from_secs(2);
            eventually(settled, "kim's requests never settled", || async {
                let statements = cost().await;
                (statements == expected).then_some(()).ok_or(statements)
            })
            .await;
            let next = [cost().await, cost().await];
            assert_eq!(next, [expected; 2], "{backend:?} {flags:?}");
            app.stop().await;
        }
    }
}

/// POSTs `query` as `token` to the gateway at `addr`; (status, body).
async fn post_to(addr: std::net::SocketAddr, token: &str, query: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

const PROMOTE: &str =
    "mutation { promoteToTeacher(emails: [\"nobody@uni.edu\"]) { unknownEmails } }";

#[tokio::test]
async fn a_change_on_another_replica_or_behind_the_gateways_back_acts_on_the_next_request() {
    if !backends().contains(&Backend::Postgres) {
        eprintln!("skipped: replicas share a PostgreSQL database (set TEST_DATABASE_URL)");
        return;
    }
    let a = Deployer::spawn(Backend::Postgres, &["--deploy-max-workers", "0"]).await;
    let b = Replica::of(&a, &["--deploy-max-workers", "0"]).await;
    // B refuses `other` (a student) a staff operation, and keeps who they are.
    let (status, body) = post_to(b.addr, &a.other, PROMOTE).await;
    assert_eq!((status, first_code(&body)), (200, "FORBIDDEN"), "{body}");
    assert_eq!(b.state.viewers.len(), 1, "B keeps the viewer");

    // A makes them support staff: B allows it, once it hears (a NOTIFY away).
    let me = a.app.data_as(&a.other, "{ me { id } }", json!({})).await;
    let grant = "mutation($u: ID!) { grantRole(userId: $u, role: SUPPORT) { id } }";
    a.app
        .data_as(&a.admin, grant, json!({ "u": me["me"]["id"] }))
        .await;
    let within = Duration::from_secs(5);
    eventually(within, "B never heard of the new role", || async {
        let (_, body) = post_to(b.addr, &a.other, PROMOTE).await;
        body.get("errors").is_none().then_some(()).ok_or(body)
    })
    .await;

    // Deactivated by SQL, behind both gateways' backs: B refuses the token.
    a.app
        .state
        .databases
        .users
        .execute_unprepared("UPDATE users SET is_active = false WHERE email = 'other@uni.edu'")
        .await
        .expect("updated");
    eventually(within, "B still serves a deactivated user", || async {
        let (status, body) = post_to(b.addr, &a.other, "{ me { id } }").await;
        (status == 401).then_some(()).ok_or(body)
    })
    .await;
    b.stop().await;
    a.app.stop().await;
}
