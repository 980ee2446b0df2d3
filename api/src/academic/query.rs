//! Queries of the academic domain.

use async_graphql::{Context, Object, Result};
use migration::Domain;

use super::{service, types::Subject};
use crate::{error::OrGraphql, state::AppState};

#[derive(Default)]
pub struct AcademicQuery;

#[Object]
impl AcademicQuery {
    /// The subject with this code, or null. Readable by anyone.
    async fn subject_by_code(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The subject's unique code (1 to 10 characters).")] code: String,
    ) -> Result<Option<Subject>> {
        service::subject_by_code(&AppState::of(ctx).databases.academic, &code)
            .await
            .or_graphql(Domain::Academic)
    }
}
