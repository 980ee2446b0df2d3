//! The request's loaders, each built on first use: a request that reads `{ tags { name } }`
//! builds one loader, not all of them.

use std::{
    any::{Any, TypeId},
    hash::Hash,
    sync::{Arc, Mutex, PoisonError},
};

use async_graphql::{Context, dataloader::Loader};
use rustc_hash::FxHashMap;

use super::batch::BatchLoader;
use crate::{
    academic::loaders::{CourseLoader, CourseWithSubjectLoader, EnrollmentsLoader, SubjectLoader},
    db::Databases,
    projects::{
        deploys::loaders::{DeploymentOfJobLoader, JobLoader, LogsLoader},
        loaders::{
            AverageRatingLoader, CollaboratorIdsLoader, CourseIdsLoader, DeploymentsLoader,
            MyRatingLoader, ProjectLoader, ProjectsOfCourseLoader, ProjectsOfUserLoader,
            RatingsLoader, StageFilesLoader, StagesLoader, StatisticsLoader, TagsLoader,
            VariablesLoader,
        },
    },
    state::AppState,
    users::loaders::{RolesLoader, UserLoader},
};

/// A loader made from the databases it reads.
pub trait FromDatabases {
    fn from_databases(databases: &Databases) -> Self;
}

macro_rules! from_databases {
    ($($loader:ident => |$d:ident| $made:expr),* $(,)?) => {
        $(impl FromDatabases for $loader {
            fn from_databases($d: &Databases) -> Self {
                $made
            }
        })*
    };
}

from_databases! {
    UserLoader => |d| UserLoader(d.users.clone()),
    RolesLoader => |d| RolesLoader(d.users.clone()),
    SubjectLoader => |d| SubjectLoader(d.academic.clone()),
    CourseLoader => |d| CourseLoader(d.academic.clone()),
    EnrollmentsLoader => |d| EnrollmentsLoader(d.academic.clone()),
    ProjectLoader => |d| ProjectLoader(d.projects.clone()),
    CollaboratorIdsLoader => |d| CollaboratorIdsLoader(d.projects.clone()),
    CourseIdsLoader => |d| CourseIdsLoader(d.projects.clone()),
    CourseWithSubjectLoader => |d| CourseWithSubjectLoader(d.academic.clone()),
    TagsLoader => |d| TagsLoader(d.projects.clone()),
    StagesLoader => |d| StagesLoader(d.projects.clone()),
    StageFilesLoader => |d| StageFilesLoader(d.projects.clone()),
    RatingsLoader => |d| RatingsLoader(d.projects.clone()),
    AverageRatingLoader => |d| AverageRatingLoader(d.projects.clone()),
    MyRatingLoader => |d| MyRatingLoader(d.projects.clone()),
    DeploymentsLoader => |d| DeploymentsLoader(d.projects.clone()),
    StatisticsLoader => |d| StatisticsLoader(d.projects.clone()),
    VariablesLoader => |d| VariablesLoader(d.projects.clone()),
    ProjectsOfUserLoader => |d| ProjectsOfUserLoader(d.projects.clone()),
    ProjectsOfCourseLoader => |d| ProjectsOfCourseLoader(d.projects.clone()),
    JobLoader => |d| JobLoader(d.projects.clone()),
    DeploymentOfJobLoader => |d| DeploymentOfJobLoader(d.projects.clone()),
    LogsLoader => |d| LogsLoader(d.projects.clone()),
}

type Built = Arc<dyn Any + Send + Sync>;

/// One request's loaders.
pub struct Loaders {
    /// The state, for its databases: one pointer to clone per request.
    state: AppState,
    built: Mutex<FxHashMap<TypeId, Built>>,
}

impl Loaders {
    pub fn new(state: AppState) -> Self {
        Loaders {
            state,
            built: Mutex::new(FxHashMap::default()),
        }
    }

    /// The request's batching loader of `L`, built the first time it is asked for.
    pub fn get<K, L>(&self) -> Arc<BatchLoader<K, L>>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        L: Loader<K> + FromDatabases,
        BatchLoader<K, L>: Send + Sync,
    {
        let mut built = self.built.lock().unwrap_or_else(PoisonError::into_inner);
        let loader = built
            .entry(TypeId::of::<BatchLoader<K, L>>())
            .or_insert_with(|| {
                Arc::new(BatchLoader::<K, L>::new(L::from_databases(
                    &self.state.databases,
                )))
            })
            .clone();
        drop(built);
        loader
            .downcast::<BatchLoader<K, L>>()
            .unwrap_or_else(|_| unreachable!("entries are keyed by their own type"))
    }

    /// How many loaders this request has built.
    pub fn built(&self) -> usize {
        self.built
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// The value of `key` in the request's loader `L` (the default when the batch found
/// none); a failed batch is recorded in `domain`'s error log.
pub async fn load_or_default<K, L>(
    ctx: &Context<'_>,
    domain: migration::Domain,
    key: K,
) -> async_graphql::Result<L::Value>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    L: Loader<K, Error = Arc<crate::error::ServiceError>> + FromDatabases,
    BatchLoader<K, L>: Send + Sync,
    L::Value: Default,
{
    Ok(of::<K, L>(ctx)?
        .load_one(key)
        .await
        .map_err(|e| crate::error::shared_error(domain, e))?
        .unwrap_or_default())
}

/// The request's loader of `L`.
pub fn of<K, L>(ctx: &Context<'_>) -> async_graphql::Result<Arc<BatchLoader<K, L>>>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    L: Loader<K> + FromDatabases,
    BatchLoader<K, L>: Send + Sync,
{
    Ok(ctx.data::<Loaders>()?.get())
}
