//! Loaders whose batch reads two databases: the linked ids in one, the rows by id in the
//! other, each through its own domain. One statement per database per batch.

use std::{
    collections::{BTreeSet, HashMap},
    hash::Hash,
    sync::Arc,
};

use async_graphql::dataloader::Loader;
use entities::{
    academic::{course, subject},
    users::user,
};

pub use crate::graphql::dangling::Linked;
use crate::{
    academic::{loaders::EnrollmentsLoader, service as academic},
    db::{AcademicDb, ProjectsDb, UsersDb},
    error::ServiceError,
    projects::loaders::{CollaboratorIdsLoader, CourseIdsLoader},
    users::service as users,
};

type Shared = Arc<ServiceError>;

/// Every id of the batch, once.
fn all_ids<K>(ids: &HashMap<K, Vec<i32>>) -> Vec<i32> {
    let set: BTreeSet<i32> = ids.values().flatten().copied().collect();
    set.into_iter().collect()
}

/// Each key's rows in the order of its ids; the ids that found no row are kept as
/// missing (a dangling reference across databases).
fn linked<K: Hash + Eq, V: Clone>(
    ids: HashMap<K, Vec<i32>>,
    rows: &HashMap<i32, V>,
) -> HashMap<K, Linked<V>> {
    ids.into_iter()
        .map(|(key, ids)| {
            let mut linked = Linked::default();
            for id in ids {
                match rows.get(&id) {
                    Some(row) => linked.found.push(row.clone()),
                    None => linked.missing.push(id),
                }
            }
            (key, linked)
        })
        .collect()
}

/// Each key's users, read in one statement.
async fn users_of<K: Hash + Eq>(
    db: &UsersDb,
    ids: HashMap<K, Vec<i32>>,
) -> Result<HashMap<K, Linked<user::Model>>, Shared> {
    let rows = users::existing_ids(db, &all_ids(&ids))
        .await
        .map_err(Arc::new)?;
    Ok(linked(ids, &rows))
}

/// The collaborators of each project, as users.
pub struct CollaboratorsLoader {
    pub projects: ProjectsDb,
    pub users: UsersDb,
}

impl Loader<i32> for CollaboratorsLoader {
    type Value = Linked<user::Model>;
    type Error = Shared;

    async fn load(&self, keys: &[i32]) -> Result<HashMap<i32, Self::Value>, Shared> {
        let ids = CollaboratorIdsLoader(self.projects.clone())
            .load(keys)
            .await?;
        users_of(&self.users, ids).await
    }
}

/// The students of each course, as users.
pub struct StudentsLoader {
    pub academic: AcademicDb,
    pub users: UsersDb,
}

impl Loader<i32> for StudentsLoader {
    type Value = Linked<user::Model>;
    type Error = Shared;

    async fn load(&self, keys: &[i32]) -> Result<HashMap<i32, Self::Value>, Shared> {
        let ids: HashMap<i32, Vec<i32>> = EnrollmentsLoader(self.academic.clone())
            .load(keys)
            .await?
            .into_iter()
            .map(|(course, rows)| (course, rows.iter().map(|e| e.student_id).collect()))
            .collect();
        users_of(&self.users, ids).await
    }
}

/// A course and its subject, read together.
pub type CourseWithSubject = (course::Model, Option<subject::Model>);

/// The courses of each project, each with its subject.
pub struct CoursesLoader {
    pub projects: ProjectsDb,
    pub academic: AcademicDb,
}

impl Loader<i32> for CoursesLoader {
    type Value = Linked<CourseWithSubject>;
    type Error = Shared;

    async fn load(&self, keys: &[i32]) -> Result<HashMap<i32, Self::Value>, Shared> {
        let ids = CourseIdsLoader(self.projects.clone()).load(keys).await?;
        let rows = academic::courses_with_subject(&self.academic, &all_ids(&ids))
            .await
            .map_err(Arc::new)?;
        Ok(linked(ids, &rows))
    }
}
