//! Mutations of the tag catalogue: staff (support, admins) add, rename and delete tags.

use async_graphql::{Context, ID, InputObject, Object, Result};
use migration::Domain;

use super::{
    authz, tags,
    types::{Tag, TagType},
};
use crate::{error::OrGraphql, state::AppState};

#[derive(Default)]
pub struct TagsMutation;

/// A tag to add to the catalogue.
#[derive(InputObject)]
pub struct CreateTagInput {
    /// Its name (at most 50 characters), unique within its type.
    pub name: String,
    /// What it describes.
    #[graphql(name = "type")]
    pub tag_type: TagType,
}

#[Object]
impl TagsMutation {
    /// Adds a tag. Support, admins.
    async fn create_tag(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new tag.")] input: CreateTagInput,
    ) -> Result<Tag> {
        authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let db = &AppState::of(ctx).databases.projects;
        let row = tags::create(db, &input.name, input.tag_type.as_db())
            .await
            .or_graphql(Domain::Projects)?;
        Tag::try_from(row).or_graphql(Domain::Projects)
    }

    /// Renames a tag (its projects keep it). Support, admins.
    async fn rename_tag(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The tag.")] id: ID,
        #[graphql(desc = "Its new name (at most 50 characters), unique within its type.")]
        name: String,
    ) -> Result<Tag> {
        authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let id = crate::graphql::ids::parse_id(&id, "id").or_graphql(Domain::Projects)?;
        let db = &AppState::of(ctx).databases.projects;
        let row = tags::rename(db, id, &name)
            .await
            .or_graphql(Domain::Projects)?;
        Tag::try_from(row).or_graphql(Domain::Projects)
    }

    /// Deletes a tag no project carries (`CONFLICT` with how many do otherwise).
    /// Support, admins.
    async fn delete_tag(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The tag.")] id: ID,
    ) -> Result<bool> {
        authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let id = crate::graphql::ids::parse_id(&id, "id").or_graphql(Domain::Projects)?;
        tags::delete(&AppState::of(ctx).databases.projects, id)
            .await
            .or_graphql(Domain::Projects)?;
        Ok(true)
    }
}
