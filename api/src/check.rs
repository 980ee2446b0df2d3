//! `api check`: every id that points from one domain's database into another's (no
//! foreign key crosses a database) is looked up, and those that find nothing are listed.

use std::collections::BTreeSet;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement};

use crate::db::Databases;

/// Which database a reference lives in or points to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Users,
    Academic,
    Projects,
}

/// One column whose values are ids of another database's table.
#[derive(Clone, Copy, Debug)]
pub struct Reference {
    pub from: Side,
    pub table: &'static str,
    pub column: &'static str,
    pub to: Side,
    pub target: &'static str,
}

const fn to_users(from: Side, table: &'static str, column: &'static str) -> Reference {
    Reference {
        from,
        table,
        column,
        to: Side::Users,
        target: "users",
    }
}

/// Every reference across databases (domain.md, "Links between domains").
pub const REFERENCES: &[Reference] = &[
    to_users(Side::Projects, "projects", "owner_id"),
    to_users(Side::Projects, "collaborators", "user_id"),
    to_users(Side::Projects, "ratings", "user_id"),
    to_users(Side::Projects, "stages", "author_id"),
    to_users(Side::Projects, "stage_files", "author_id"),
    to_users(Side::Projects, "files", "uploaded_by"),
    to_users(Side::Projects, "deployments", "triggered_by"),
    Reference {
        from: Side::Projects,
        table: "project_courses",
        column: "course_id",
        to: Side::Academic,
        target: "courses",
    },
    to_users(Side::Academic, "courses", "teacher_id"),
    to_users(Side::Academic, "enrollments", "student_id"),
];

/// A reference whose ids find nothing: how many rows hold them, and the ids.
#[derive(Debug)]
pub struct Dangling {
    pub reference: Reference,
    pub rows: u64,
    pub ids: Vec<i32>,
}

impl std::fmt::Display for Dangling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = &self.reference;
        let shown: Vec<String> = self.ids.iter().take(20).map(i32::to_string).collect();
        let more = if self.ids.len() > 20 { ", …" } else { "" };
        write!(
            f,
            "{:?}.{}.{} -> {:?}.{}: {} row(s) point to {} missing id(s): {}{more}",
            r.from,
            r.table,
            r.column,
            r.to,
            r.target,
            self.rows,
            self.ids.len(),
            shown.join(", ")
        )
    }
}

fn side(databases: &Databases, side: Side) -> &DatabaseConnection {
    match side {
        Side::Users => &databases.users,
        Side::Academic => &databases.academic,
        Side::Projects => &databases.projects,
    }
}

async fn ids(db: &DatabaseConnection, sql: String) -> Result<Vec<i32>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    rows.iter()
        .map(|row| row.try_get_by_index::<i32>(0))
        .collect()
}

/// How many ids one lookup sends.
const CHUNK: usize = 500;

async fn dangling(databases: &Databases, reference: Reference) -> Result<Dangling, DbErr> {
    let source = side(databases, reference.from);
    let (table, column) = (reference.table, reference.column);
    let wanted = ids(source, format!("SELECT DISTINCT {column} FROM {table}")).await?;
    let mut missing = Vec::new();
    for chunk in wanted.chunks(CHUNK) {
        let list: Vec<String> = chunk.iter().map(i32::to_string).collect();
        let found: BTreeSet<i32> = ids(
            side(databases, reference.to),
            format!(
                "SELECT id FROM {} WHERE id IN ({})",
                reference.target,
                list.join(",")
            ),
        )
        .await?
        .into_iter()
        .collect();
        missing.extend(chunk.iter().filter(|id| !found.contains(id)));
    }
    missing.sort_unstable();
    let mut rows = 0;
    for chunk in missing.chunks(CHUNK) {
        let list: Vec<String> = chunk.iter().map(i32::to_string).collect();
        let counted = ids(
            source,
            format!(
                "SELECT CAST(COUNT(*) AS INTEGER) FROM {table} WHERE {column} IN ({})",
                list.join(",")
            ),
        )
        .await?;
        rows += counted
            .first()
            .and_then(|n| u64::try_from(*n).ok())
            .unwrap_or(0);
    }
    Ok(Dangling {
        reference,
        rows,
        ids: missing,
    })
}

/// Every reference that dangles, in [`REFERENCES`] order.
pub async fn run(databases: &Databases) -> Result<Vec<Dangling>, DbErr> {
    let mut found = Vec::new();
    for reference in REFERENCES {
        let result = dangling(databases, *reference).await?;
        if !result.ids.is_empty() {
            found.push(result);
        }
    }
    Ok(found)
}
