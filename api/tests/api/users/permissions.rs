//! Who may call each users operation, pinned to domain.md.

use super::*;

/// One call of each operation of the users domain, with arguments that pass validation.
/// Every call gets the same variables (`$id` the target user, `$t` a Google id token,
/// `$r` a refresh token); each document declares the ones it uses.
const CALLS: &[(&str, &str)] = &[
    ("roles", "{ roles { name } }"),
    ("databaseEngines", "{ databaseEngines { name } }"),
    ("me", "{ me { id } }"),
    ("user", "query($id: ID!) { user(id: $id) { id } }"),
    ("users", "{ users(first: 5) { totalCount } }"),
    (
        "users(filter.role: TEACHER)",
        "{ users(first: 5, filter: { role: TEACHER }) { totalCount } }",
    ),
    (
        "users(filter.role)",
        "{ users(first: 5, filter: { role: ADMIN }) { totalCount } }",
    ),
    (
        "usersByEmails",
        "{ usersByEmails(emails: [\"x@uni.edu\"]) { notFound } }",
    ),
    ("myStudentDatabases", "{ myStudentDatabases { id } }"),
    ("signInWithGoogle", SIGN_IN),
    (
        "refreshToken",
        "mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken } }",
    ),
    ("signOut", "mutation { signOut }"),
    (
        "updateMyProfile",
        "mutation { updateMyProfile(input: {firstName: \"New\"}) { id } }",
    ),
    (
        "promoteToTeacher",
        "mutation { promoteToTeacher(emails: [\"nobody@uni.edu\"]) { unknownEmails } }",
    ),
    (
        "grantRole",
        "mutation($id: ID!) { grantRole(userId: $id, role: SUPPORT) { id } }",
    ),
    (
        "revokeRole",
        "mutation($id: ID!) { revokeRole(userId: $id, role: SUPPORT) { id } }",
    ),
    (
        "setUserActive",
        "mutation($id: ID!) { setUserActive(userId: $id, active: true) { id } }",
    ),
    (
        "createDatabaseAccount",
        "mutation { createDatabaseAccount(password: \"Secret123\") }",
    ),
    (
        "createStudentDatabase",
        "mutation { createStudentDatabase(name: \"some_db\", engine: POSTGRESQL) { id } }",
    ),
    (
        "deleteStudentDatabase",
        "mutation { deleteStudentDatabase(id: \"999999\") }",
    ),
];

/// The call of `operation` in `ctx`, as a document and its variables.
fn call_of(operation: &str, ctx: &CallContext) -> (String, Value) {
    let (_, document) = CALLS
        .iter()
        .find(|(name, _)| *name == operation)
        .unwrap_or_else(|| panic!("the authorization test has no call for `{operation}`: add one"));
    let variables = json!({
        "id": ctx.target_id.to_string(),
        "t": ctx.id_token,
        "r": ctx.refresh_token,
    });
    ((*document).to_owned(), variables)
}

struct CallContext {
    target_id: i32,
    id_token: String,
    refresh_token: String,
}

/// domain.md §1: sign-in is open; "admin or support staff promote users to TEACHER";
/// a user creates their own database account and databases, "only the owner deletes";
/// an email is private (who holds a role other than TEACHER is for staff; the teacher
/// picker is public to signed-in users); roles and activity are the admins'.
const USERS_SPEC: &[(&str, Who)] = &[
    ("roles", Who::Anyone),
    ("databaseEngines", Who::Anyone),
    ("me", Who::SignedIn),
    ("user", Who::SignedIn),
    ("users", Who::SignedIn),
    ("users(filter.role: TEACHER)", Who::SignedIn),
    ("users(filter.role)", Who::Staff),
    ("usersByEmails", Who::StaffAndTeachers),
    ("myStudentDatabases", Who::SignedIn),
    ("signInWithGoogle", Who::Anyone),
    ("refreshToken", Who::Anyone),
    ("signOut", Who::SignedIn),
    ("updateMyProfile", Who::SignedIn),
    ("promoteToTeacher", Who::Staff),
    ("grantRole", Who::Admins),
    ("revokeRole", Who::Admins),
    ("setUserActive", Who::Admins),
    ("createDatabaseAccount", Who::SignedIn),
    ("createStudentDatabase", Who::SignedIn),
    ("deleteStudentDatabase", Who::SignedIn),
];

#[tokio::test]
async fn every_operation_allows_exactly_whom_the_spec_says() {
    let (app, google) = app_with_google(Backend::Sqlite).await;
    let (target_id, _) = app
        .user_with_role("target@uni.edu", RoleName::Student)
        .await;
    let personas = app.personas().await;
    assert_spec_covers(USERS_SPEC, authz::TABLE);
    // signOut revokes the persona's token: it goes last.
    let mut operations: Vec<(&str, Who)> = USERS_SPEC.to_vec();
    operations.sort_by_key(|(name, _)| *name == "signOut");
    let mut mismatches = Vec::new();
    for (persona, role, token) in &personas {
        for (operation, who) in &operations {
            let signed_in =
                sign_in(&app, &google, &format!("signer-{}@uni.edu", unique_tag())).await;
            let ctx = CallContext {
                target_id,
                id_token: google.id_token(&format!("new-{}@uni.edu", unique_tag())),
                refresh_token: signed_in["refreshToken"]
                    .as_str()
                    .expect("token")
                    .to_owned(),
            };
            let (document, variables) = call_of(operation, &ctx);
            let (_, body) = match &token {
                Some(token) => app.post_as(token, &document, variables).await,
                None => app.post(&document, variables).await,
            };
            let allowed = !refused_for_caller(&body);
            let expected = spec_allows(*who, *role);
            if allowed != expected {
                mismatches.push(format!(
                    "{persona} {operation}: allowed={allowed}, the spec says {expected}: {body}"
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
