//! Mutations of the projects domain. Each checks the table, then the service checks the
//! project (members write, the owner manages, admins do all).

use async_graphql::{Context, ID, Object, Result};
use migration::Domain;

use super::{
    authz, service,
    types::{
        CreateProjectInput, CreateStageInput, EnvironmentVariable, Project, Rating, Stage,
        UpdateProjectInput, UpdateStageInput,
    },
};
use crate::{error::OrGraphql, state::AppState};

#[derive(Default)]
pub struct ProjectsMutation;

fn id(value: &ID, field: &'static str) -> Result<i32> {
    crate::graphql::ids::parse_id(value, field).or_graphql(Domain::Projects)
}

async fn stage_of(ctx: &Context<'_>, model: entities::projects::stage::Model) -> Result<Stage> {
    let stages = super::loaders::stages(ctx, model.project_id).await?;
    stages
        .into_iter()
        .find(|s| s.model.id == model.id)
        .ok_or_else(|| crate::error::ServiceError::NotFound("stage").into_graphql(Domain::Projects))
}

#[Object]
impl ProjectsMutation {
    /// Creates a project linked to at least one course (students: one they are enrolled
    /// in; teachers: one they teach; admins: any). The viewer owns it.
    async fn create_project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new project.")] input: CreateProjectInput,
    ) -> Result<Project> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let state = AppState::of(ctx);
        let dbs = &state.databases;
        let created = service::create(
            &dbs.projects,
            &dbs.academic,
            &viewer,
            input.try_into().or_graphql(Domain::Projects)?,
            (
                state.config.allow_local_repositories,
                state.config.max_projects_per_student,
            ),
        )
        .await
        .or_graphql(Domain::Projects)?;
        Ok(Project(created))
    }

    /// Changes a project. Owner, collaborators, admins.
    async fn update_project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project to change.")] id: ID,
        #[graphql(desc = "The fields to change; omitted ones stay.")] input: UpdateProjectInput,
    ) -> Result<Project> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let state = AppState::of(ctx);
        let project_id = self::id(&id, "id")?;
        let updated = service::update(
            &state.databases.projects,
            &viewer,
            project_id,
            input.try_into().or_graphql(Domain::Projects)?,
            state.config.allow_local_repositories,
        )
        .await
        .or_graphql(Domain::Projects)?;
        Ok(Project(updated))
    }

    /// Deletes a project and its files. Owner, admins.
    async fn delete_project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project to delete.")] id: ID,
    ) -> Result<bool> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let state = AppState::of(ctx);
        service::delete(
            &state.databases.projects,
            &state.config.data_dir,
            &state.deploy,
            &viewer,
            self::id(&id, "id")?,
        )
        .await
        .or_graphql(Domain::Projects)?;
        Ok(true)
    }

    /// Adds a collaborator. Owner, admins.
    async fn add_collaborator(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
        #[graphql(desc = "The user to add.")] user_id: ID,
    ) -> Result<Project> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let dbs = &AppState::of(ctx).databases;
        let found = service::add_collaborator(
            &dbs.projects,
            &dbs.users,
            &viewer,
            id(&project_id, "projectId")?,
            id(&user_id, "userId")?,
        )
        .await
        .or_graphql(Domain::Projects)?;
        Ok(Project(found))
    }

    /// Removes a collaborator. Owner, admins.
    async fn remove_collaborator(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
        #[graphql(desc = "The collaborator to remove.")] user_id: ID,
    ) -> Result<Project> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let found = service::remove_collaborator(
            &AppState::of(ctx).databases.projects,
            &viewer,
            id(&project_id, "projectId")?,
            id(&user_id, "userId")?,
        )
        .await
        .or_graphql(Domain::Projects)?;
        Ok(Project(found))
    }

    /// Rates a project 1 to 5 (again to change it). Not one's own project.
    async fn rate_project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project to rate.")] project_id: ID,
        #[graphql(desc = "1 (BAD) to 5 (AWESOME).")] stars: i32,
    ) -> Result<Rating> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let saved = service::rate(
            &AppState::of(ctx).databases.projects,
            &viewer,
            id(&project_id, "projectId")?,
            stars,
        )
        .await
        .or_graphql(Domain::Projects)?;
        Ok(Rating(saved))
    }

    /// Links a course. Owner, collaborators, admins.
    async fn link_course(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
        #[graphql(desc = "The course to link.")] course_id: ID,
    ) -> Result<Project> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let dbs = &AppState::of(ctx).databases;
        let found = service::link_course(
            &dbs.projects,
            &dbs.academic,
            &viewer,
            id(&project_id, "projectId")?,
            id(&course_id, "courseId")?,
        )
        .await
        .or_graphql(Domain::Projects)?;
        Ok(Project(found))
    }

    /// Unlinks a course; the last one stays. Owner, collaborators, admins.
    async fn unlink_course(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
        #[graphql(desc = "The course to unlink.")] course_id: ID,
    ) -> Result<Project> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let found = service::unlink_course(
            &AppState::of(ctx).databases.projects,
            &viewer,
            id(&project_id, "projectId")?,
            id(&course_id, "courseId")?,
        )
        .await
        .or_graphql(Domain::Projects)?;
        Ok(Project(found))
    }

    /// Tags a project. Owner, collaborators, admins.
    async fn tag_project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
        #[graphql(desc = "The tag to put on it.")] tag_id: ID,
    ) -> Result<Project> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let found = service::tag(
            &AppState::of(ctx).databases.projects,
            &viewer,
            id(&project_id, "projectId")?,
            id(&tag_id, "tagId")?,
        )
        .await
        .or_graphql(Domain::Projects)?;
        Ok(Project(found))
    }

    /// Removes a tag. Owner, collaborators, admins.
    async fn untag_project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
        #[graphql(desc = "The tag to take off.")] tag_id: ID,
    ) -> Result<Project> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let found = service::untag(
            &AppState::of(ctx).databases.projects,
            &viewer,
            id(&project_id, "projectId")?,
            id(&tag_id, "tagId")?,
        )
        .await
        .or_graphql(Domain::Projects)?;
        Ok(Project(found))
    }

    /// Adds a stage. Owner, collaborators, admins.
    async fn create_stage(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new stage.")] input: CreateStageInput,
    ) -> Result<Stage> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let created = service::create_stage(
            &AppState::of(ctx).databases.projects,
            &viewer,
            input.try_into().or_graphql(Domain::Projects)?,
        )
        .await
        .or_graphql(Domain::Projects)?;
        stage_of(ctx, created).await
    }

    /// Changes a stage, its status included. Owner, collaborators, admins.
    async fn update_stage(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The stage to change.")] id: ID,
        #[graphql(desc = "The fields to change; omitted ones stay.")] input: UpdateStageInput,
    ) -> Result<Stage> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let updated = service::update_stage(
            &AppState::of(ctx).databases.projects,
            &viewer,
            self::id(&id, "id")?,
            input.into(),
        )
        .await
        .or_graphql(Domain::Projects)?;
        stage_of(ctx, updated).await
    }

    /// Deletes a stage and its files. Owner, collaborators, admins.
    async fn delete_stage(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The stage to delete.")] id: ID,
    ) -> Result<bool> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let state = AppState::of(ctx);
        service::delete_stage(
            &state.databases.projects,
            &state.config.data_dir,
            &viewer,
            self::id(&id, "id")?,
        )
        .await
        .or_graphql(Domain::Projects)?;
        Ok(true)
    }

    /// Attaches an uploaded file to a stage. Owner, collaborators, admins.
    async fn attach_stage_file(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The stage.")] stage_id: ID,
        #[graphql(desc = "A file the viewer uploaded.")] file_id: ID,
    ) -> Result<Stage> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let found = service::attach_file(
            &AppState::of(ctx).databases.projects,
            &viewer,
            id(&stage_id, "stageId")?,
            id(&file_id, "fileId")?,
        )
        .await
        .or_graphql(Domain::Projects)?;
        stage_of(ctx, found).await
    }

    /// Detaches a file from a stage (and deletes it when nothing else uses it).
    async fn detach_stage_file(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The stage.")] stage_id: ID,
        #[graphql(desc = "The file to detach.")] file_id: ID,
    ) -> Result<Stage> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let state = AppState::of(ctx);
        let found = service::detach_file(
            &state.databases.projects,
            &state.config.data_dir,
            &viewer,
            id(&stage_id, "stageId")?,
            id(&file_id, "fileId")?,
        )
        .await
        .or_graphql(Domain::Projects)?;
        stage_of(ctx, found).await
    }

    /// Creates or updates an environment variable; stored encrypted. Owner,
    /// collaborators, admins.
    async fn set_environment_variable(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
        #[graphql(desc = "1 to 64 characters matching [A-Z_][A-Z0-9_]*.")] name: String,
        #[graphql(desc = "The value (at most 8192 bytes), stored encrypted.")] value: String,
    ) -> Result<EnvironmentVariable> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Projects)?;
        let state = AppState::of(ctx);
        let saved = service::set_variable(
            &state.databases.projects,
            &state.cipher,
            &viewer,
            id(&project_id, "projectId")?,
            &name,
            &value,
        )
        .await
        .or_graphql(Domain::Projects)?;
        Ok(EnvironmentVariable {
            name: saved.name,
            value,
            updated_at: saved.updated_at,
        })
    }

    /// Deletes an environment variable. Owner, collaborators, admins.
    async fn delete_environment_variable(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
        #[graphql(desc = "The variable's name.")] name: String,
    ) -> Result<bool> {
        let viewer = authz::require(ctx).await.or_graphql(Domain::Projects)?;
        service::delete_variable(
            &AppState::of(ctx).databases.projects,
            &viewer,
            id(&project_id, "projectId")?,
            &name,
        )
        .await
        .or_graphql(Domain::Projects)?;
        Ok(true)
    }
}
