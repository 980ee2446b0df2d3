//! Projects as the read queries return them: each row with what the client asked of it
//! that one correlated subquery can read in the same statement (the mean rating, the
//! collaborator and course ids), so the fields that need them cost no statement of their
//! own.

use sea_orm::{DbBackend, sea_query::SelectStatement};

use super::*;

/// What to read with each project besides its row.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reads {
    /// The mean of its ratings (`averageRating`).
    pub average: bool,
    /// Its collaborators' ids (`collaborators`, and the member checks).
    pub collaborator_ids: bool,
    /// The ids of its courses (`courses`).
    pub course_ids: bool,
    /// Its tags with their types (`tags`).
    pub tags: bool,
    /// How many projects match in all (`totalCount`), read with the page.
    pub total: bool,
}

/// A tag of a project as read with it.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct ReadTag {
    pub id: i32,
    pub name: String,
    pub type_name: String,
}

/// A project row as the read queries return it, with what `Reads` asked for (`None`
/// when not read; `Some(None)` for the mean of no ratings).
#[derive(Debug)]
pub struct ProjectRead {
    pub model: project::Model,
    pub average_rating: Option<Option<f64>>,
    pub collaborator_ids: Option<Vec<i32>>,
    pub course_ids: Option<Vec<i32>>,
    pub tags: Option<Vec<ReadTag>>,
}

#[derive(FromQueryResult)]
struct ProjectRow {
    #[sea_orm(nested)]
    model: project::Model,
    average_rating: Option<f64>,
    collaborator_ids: Option<String>,
    course_ids: Option<String>,
    tags: Option<String>,
    total: Option<i64>,
}

/// The project's tags as a JSON array of `[id, name, type name]`, in the order they
/// were added (`json_agg` on PostgreSQL, `json_group_array` on SQLite).
fn tags_of(backend: DbBackend) -> Expr {
    let (aggregate, close) = match backend {
        DbBackend::Postgres => (
            "CAST(json_agg(json_build_array",
            ") ORDER BY pt.id) AS TEXT)",
        ),
        _ => ("json_group_array(json_array", ") ORDER BY pt.id)"),
    };
    Expr::cust(format!(
        "(SELECT {aggregate}(t.id, t.name, tt.name{close} FROM project_tags pt \
         JOIN tags t ON t.id = pt.tag_id JOIN tag_types tt ON tt.id = t.type_id \
         WHERE pt.project_id = projects.id)"
    ))
}

fn parse_tags(tags: Option<String>) -> Result<Vec<ReadTag>, ServiceError> {
    let Some(json) = tags else {
        return Ok(Vec::new());
    };
    let rows: Vec<(i32, String, String)> = serde_json::from_str(&json)
        .map_err(|e| ServiceError::Corrupt(format!("a project's tags did not read: {e}")))?;
    Ok(rows
        .into_iter()
        .map(|(id, name, type_name)| ReadTag {
            id,
            name,
            type_name,
        })
        .collect())
}

/// `column` of `table`'s rows that point at the project, in the order they were made,
/// as one comma-separated string (`string_agg` on PostgreSQL and SQLite 3.44+).
fn ids_of(table: &str, column: &str) -> Expr {
    Expr::cust(format!(
        "(SELECT string_agg(CAST(l.{column} AS TEXT), ',' ORDER BY l.id) FROM {table} l \
         WHERE l.project_id = projects.id)"
    ))
}

fn parse_ids(ids: Option<String>) -> Result<Vec<i32>, ServiceError> {
    ids.as_deref()
        .unwrap_or_default()
        .split(',')
        .filter(|id| !id.is_empty())
        .map(|id| {
            id.parse()
                .map_err(|_| ServiceError::Corrupt(format!("a linked id {id:?} is not a number")))
        })
        .collect()
}

/// The mean of the project's ratings: a correlated subquery on the ratings index.
fn average_of() -> Expr {
    let average = rating::Entity::find()
        .select_only()
        .expr(
            Expr::col((rating::Entity, rating::Column::Stars))
                .cast_as("DOUBLE PRECISION")
                .avg(),
        )
        .filter(
            Expr::col((rating::Entity, rating::Column::ProjectId))
                .equals((project::Entity, project::Column::Id)),
        )
        .into_query();
    Expr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(average)))
}

/// The columns `ProjectRow` reads besides the project's own: each what `reads` asks
/// for, or a typed NULL.
fn with_reads(
    query: sea_orm::Select<project::Entity>,
    reads: Reads,
    count: Option<SelectStatement>,
    backend: DbBackend,
) -> sea_orm::Select<project::Entity> {
    let none = |ty: &str| Expr::cust(format!("CAST(NULL AS {ty})"));
    let text = |wanted: bool, read: &dyn Fn() -> Expr| if wanted { read() } else { none("TEXT") };
    let average = if reads.average {
        average_of()
    } else {
        none("DOUBLE PRECISION")
    };
    let total = match count {
        Some(count) => Expr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(count))),
        None => none("BIGINT"),
    };
    query
        .column_as(average, "average_rating")
        .column_as(
            text(reads.collaborator_ids, &|| {
                ids_of("collaborators", "user_id")
            }),
            "collaborator_ids",
        )
        .column_as(
            text(reads.course_ids, &|| ids_of("project_courses", "course_id")),
            "course_ids",
        )
        .column_as(text(reads.tags, &|| tags_of(backend)), "tags")
        .column_as(total, "total")
}

impl ProjectRow {
    fn read(self, reads: Reads) -> Result<ProjectRead, ServiceError> {
        Ok(ProjectRead {
            model: self.model,
            average_rating: reads.average.then_some(self.average_rating),
            collaborator_ids: reads
                .collaborator_ids
                .then(|| parse_ids(self.collaborator_ids))
                .transpose()?,
            course_ids: reads
                .course_ids
                .then(|| parse_ids(self.course_ids))
                .transpose()?,
            tags: reads.tags.then(|| parse_tags(self.tags)).transpose()?,
        })
    }
}

/// Runs a projects query, reading with each project what `reads` asks for, and with
/// the first row the result of `count` (how many match in all, past the cursor and the
/// limit: a subquery run once).
pub(super) async fn read_projects(
    db: &ProjectsDb,
    query: sea_orm::Select<project::Entity>,
    reads: Reads,
    count: Option<SelectStatement>,
) -> Result<Read, ServiceError> {
    let rows = with_reads(query, reads, count, db.get_database_backend())
        .into_model::<ProjectRow>()
        .all(&**db)
        .await?;
    let total = rows.first().and_then(|row| row.total);
    let rows = rows
        .into_iter()
        .map(|row| row.read(reads))
        .collect::<Result<_, ServiceError>>()?;
    Ok(Read { rows, total })
}

/// The rows a read query returned, and the count of all matching rows when it was read
/// with them (`None` with no row to carry it).
pub(super) struct Read {
    rows: Vec<ProjectRead>,
    total: Option<i64>,
}

/// One project by id for reading, with what `reads` asks for.
pub async fn read_by_id(
    db: &ProjectsDb,
    id: i32,
    reads: Reads,
) -> Result<Option<ProjectRead>, ServiceError> {
    let query = project::Entity::find().filter(project::Column::Id.eq(id));
    Ok(read_projects(db, query, reads, None)
        .await?
        .rows
        .into_iter()
        .next())
}

/// The projects `filter` lets through.
fn condition(filter: &ProjectQuery) -> Condition {
    let mut condition = Condition::all();
    if !filter.tag_ids.is_empty() {
        let tagged = project_tag::Entity::find()
            .select_only()
            .column(project_tag::Column::ProjectId)
            .filter(project_tag::Column::TagId.is_in(filter.tag_ids.iter().copied()))
            .into_query();
        condition = condition.add(project::Column::Id.in_subquery(tagged));
    }
    if let Some(owner) = filter.owner_id {
        condition = condition.add(project::Column::OwnerId.eq(owner));
    }
    if let Some(member) = filter.member_id {
        let collaborating = collaborator::Entity::find()
            .select_only()
            .column(collaborator::Column::ProjectId)
            .filter(collaborator::Column::UserId.eq(member))
            .into_query();
        condition = condition.add(
            Condition::any()
                .add(project::Column::OwnerId.eq(member))
                .add(project::Column::Id.in_subquery(collaborating)),
        );
    }
    if let Some(course) = filter.course_id {
        let linked = project_course::Entity::find()
            .select_only()
            .column(project_course::Column::ProjectId)
            .filter(project_course::Column::CourseId.eq(course))
            .into_query();
        condition = condition.add(project::Column::Id.in_subquery(linked));
    }
    if let Some(search) = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        condition = condition.add(
            Expr::expr(Func::lower(Expr::col(project::Column::Name))).like(like_pattern(search)),
        );
    }
    condition
}

/// A page of projects by id, filtered; and how many match in all.
pub async fn page(
    db: &ProjectsDb,
    filter: &ProjectQuery,
    page: &Page,
    reads: Reads,
) -> Result<(Vec<ProjectRead>, u64), ServiceError> {
    let condition = condition(filter);
    let mut query = project::Entity::find().filter(condition.clone());
    if let Some(after) = page.after {
        query = query.filter(project::Column::Id.gt(after));
    }
    let query = query
        .order_by_asc(project::Column::Id)
        .limit(page.first + 1);
    let count = reads.total.then(|| {
        project::Entity::find()
            .select_only()
            .expr(Expr::col((project::Entity, project::Column::Id)).count())
            .filter(condition.clone())
            .into_query()
    });
    let read = read_projects(db, query, reads, count).await?;
    // An empty page carries no count: it is read on its own.
    let total = match read.total {
        Some(total) => u64::try_from(total).unwrap_or_default(),
        None if reads.total => {
            project::Entity::find()
                .filter(condition)
                .count(&**db)
                .await?
        }
        None => 0,
    };
    Ok((read.rows, total))
}
