//! Projects, their members, ratings, courses, stages and files, tags, variables,
//! jobs, deployments and their logs, statistics, error logs.

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{cascade, create_error_logs, drop, drop_error_logs, index, restrict};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Files {
    Table,
    Id,
    Uuid,
    OriginalName,
    ContentType,
    Size,
    UploadedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
    OwnerId,
    Name,
    Slug,
    RepositoryUrl,
    ContainerPort,
    StaticPath,
    Description,
    ImageFileId,
    Running,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Collaborators {
    Table,
    Id,
    ProjectId,
    UserId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Ratings {
    Table,
    Id,
    ProjectId,
    UserId,
    Stars,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ProjectCourses {
    Table,
    Id,
    ProjectId,
    CourseId,
}

#[derive(DeriveIden)]
enum StageStatuses {
    Table,
    Id,
    Name,
}

#[derive(DeriveIden)]
enum Stages {
    Table,
    Id,
    ProjectId,
    Name,
    Description,
    StatusId,
    AuthorId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum StageFiles {
    Table,
    Id,
    StageId,
    FileId,
    AuthorId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum EnvironmentVariables {
    Table,
    Id,
    ProjectId,
    Name,
    Value,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TagTypes {
    Table,
    Id,
    Name,
}

#[derive(DeriveIden)]
enum Tags {
    Table,
    Id,
    Name,
    TypeId,
}

#[derive(DeriveIden)]
enum ProjectTags {
    Table,
    Id,
    ProjectId,
    TagId,
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    Id,
    Uuid,
    Kind,
    Payload,
    Status,
    Progress,
    Message,
    Attempts,
    LeaseOwner,
    LeaseExpiresAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Deployments {
    Table,
    Id,
    ProjectId,
    TriggeredBy,
    JobId,
    Status,
    Successful,
    Commit,
    Endpoint,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DeploymentLogs {
    Table,
    Id,
    DeploymentId,
    Kind,
    Line,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Statistics {
    Table,
    Id,
    ProjectId,
    CpuPercent,
    MemoryPercent,
    MemoryUsed,
    MemoryLimit,
    BlockIoRead,
    BlockIoWrite,
    NetIoRx,
    NetIoTx,
    CreatedAt,
}

/// A table keyed by `id` whose rows belong to a project (deleted with it).
fn project_child<T: IntoIden + 'static, C: IntoIden + 'static>(
    table: T,
    id: C,
    project_id: C,
) -> TableCreateStatement {
    Table::create()
        .table(table)
        .col(pk_auto(id))
        .col(integer(project_id))
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Files::Table)
                    .col(pk_auto(Files::Id))
                    .col(uuid_uniq(Files::Uuid))
                    .col(string_len(Files::OriginalName, 255))
                    .col(string_len(Files::ContentType, 255))
                    .col(big_integer(Files::Size))
                    .col(integer(Files::UploadedBy))
                    .col(timestamp_with_time_zone(Files::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Projects::Table)
                    .col(pk_auto(Projects::Id))
                    .col(integer(Projects::OwnerId))
                    .col(string_len(Projects::Name, 255))
                    .col(string_len_uniq(Projects::Slug, 30))
                    .col(string_len_uniq(Projects::RepositoryUrl, 2048))
                    .col(integer(Projects::ContainerPort))
                    .col(string_len_null(Projects::StaticPath, 255))
                    .col(text(Projects::Description))
                    .col(integer_null(Projects::ImageFileId))
                    .col(boolean(Projects::Running).default(false))
                    .col(timestamp_with_time_zone(Projects::CreatedAt))
                    .col(timestamp_with_time_zone(Projects::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Projects::Table, Projects::ImageFileId)
                            .to(Files::Table, Files::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            Projects::Table,
            "idx_projects_owner_id",
            [Projects::OwnerId],
            false,
        )
        .await?;
        index(
            manager,
            Projects::Table,
            "idx_projects_name",
            [Projects::Name],
            false,
        )
        .await?;

        manager
            .create_table(
                project_child(
                    Collaborators::Table,
                    Collaborators::Id,
                    Collaborators::ProjectId,
                )
                .col(integer(Collaborators::UserId))
                .col(timestamp_with_time_zone(Collaborators::CreatedAt))
                .foreign_key(&mut cascade(
                    Collaborators::Table,
                    Collaborators::ProjectId,
                    Projects::Table,
                    Projects::Id,
                ))
                .to_owned(),
            )
            .await?;
        index(
            manager,
            Collaborators::Table,
            "uq_collaborators_project_user",
            [Collaborators::ProjectId, Collaborators::UserId],
            true,
        )
        .await?;
        index(
            manager,
            Collaborators::Table,
            "idx_collaborators_user_id",
            [Collaborators::UserId],
            false,
        )
        .await?;

        manager
            .create_table(
                project_child(Ratings::Table, Ratings::Id, Ratings::ProjectId)
                    .col(integer(Ratings::UserId))
                    .col(integer(Ratings::Stars).check(Expr::col(Ratings::Stars).between(1, 5)))
                    .col(timestamp_with_time_zone(Ratings::CreatedAt))
                    .col(timestamp_with_time_zone(Ratings::UpdatedAt))
                    .foreign_key(&mut cascade(
                        Ratings::Table,
                        Ratings::ProjectId,
                        Projects::Table,
                        Projects::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            Ratings::Table,
            "uq_ratings_project_user",
            [Ratings::ProjectId, Ratings::UserId],
            true,
        )
        .await?;

        manager
            .create_table(
                project_child(
                    ProjectCourses::Table,
                    ProjectCourses::Id,
                    ProjectCourses::ProjectId,
                )
                .col(integer(ProjectCourses::CourseId))
                .foreign_key(&mut cascade(
                    ProjectCourses::Table,
                    ProjectCourses::ProjectId,
                    Projects::Table,
                    Projects::Id,
                ))
                .to_owned(),
            )
            .await?;
        index(
            manager,
            ProjectCourses::Table,
            "uq_project_courses_project_course",
            [ProjectCourses::ProjectId, ProjectCourses::CourseId],
            true,
        )
        .await?;
        index(
            manager,
            ProjectCourses::Table,
            "idx_project_courses_course_id",
            [ProjectCourses::CourseId],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(StageStatuses::Table)
                    .col(pk_auto(StageStatuses::Id))
                    .col(string_len_uniq(StageStatuses::Name, 32))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                project_child(Stages::Table, Stages::Id, Stages::ProjectId)
                    .col(string_len(Stages::Name, 100))
                    .col(text(Stages::Description))
                    .col(integer(Stages::StatusId))
                    .col(integer(Stages::AuthorId))
                    .col(timestamp_with_time_zone(Stages::CreatedAt))
                    .col(timestamp_with_time_zone(Stages::UpdatedAt))
                    .foreign_key(&mut cascade(
                        Stages::Table,
                        Stages::ProjectId,
                        Projects::Table,
                        Projects::Id,
                    ))
                    .foreign_key(&mut restrict(
                        Stages::Table,
                        Stages::StatusId,
                        StageStatuses::Table,
                        StageStatuses::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            Stages::Table,
            "idx_stages_project_id",
            [Stages::ProjectId],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(StageFiles::Table)
                    .col(pk_auto(StageFiles::Id))
                    .col(integer(StageFiles::StageId))
                    .col(integer(StageFiles::FileId))
                    .col(integer(StageFiles::AuthorId))
                    .col(timestamp_with_time_zone(StageFiles::CreatedAt))
                    .foreign_key(&mut cascade(
                        StageFiles::Table,
                        StageFiles::StageId,
                        Stages::Table,
                        Stages::Id,
                    ))
                    .foreign_key(&mut restrict(
                        StageFiles::Table,
                        StageFiles::FileId,
                        Files::Table,
                        Files::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            StageFiles::Table,
            "uq_stage_files_stage_file",
            [StageFiles::StageId, StageFiles::FileId],
            true,
        )
        .await?;

        manager
            .create_table(
                project_child(
                    EnvironmentVariables::Table,
                    EnvironmentVariables::Id,
                    EnvironmentVariables::ProjectId,
                )
                .col(string_len(EnvironmentVariables::Name, 64))
                .col(blob(EnvironmentVariables::Value))
                .col(timestamp_with_time_zone(EnvironmentVariables::CreatedAt))
                .col(timestamp_with_time_zone(EnvironmentVariables::UpdatedAt))
                .foreign_key(&mut cascade(
                    EnvironmentVariables::Table,
                    EnvironmentVariables::ProjectId,
                    Projects::Table,
                    Projects::Id,
                ))
                .to_owned(),
            )
            .await?;
        index(
            manager,
            EnvironmentVariables::Table,
            "uq_environment_variables_project_name",
            [EnvironmentVariables::ProjectId, EnvironmentVariables::Name],
            true,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(TagTypes::Table)
                    .col(pk_auto(TagTypes::Id))
                    .col(string_len_uniq(TagTypes::Name, 32))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Tags::Table)
                    .col(pk_auto(Tags::Id))
                    .col(string_len(Tags::Name, 64))
                    .col(integer(Tags::TypeId))
                    .foreign_key(&mut restrict(
                        Tags::Table,
                        Tags::TypeId,
                        TagTypes::Table,
                        TagTypes::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            Tags::Table,
            "uq_tags_name_type",
            [Tags::Name, Tags::TypeId],
            true,
        )
        .await?;
        manager
            .create_table(
                project_child(ProjectTags::Table, ProjectTags::Id, ProjectTags::ProjectId)
                    .col(integer(ProjectTags::TagId))
                    .foreign_key(&mut cascade(
                        ProjectTags::Table,
                        ProjectTags::ProjectId,
                        Projects::Table,
                        Projects::Id,
                    ))
                    .foreign_key(&mut restrict(
                        ProjectTags::Table,
                        ProjectTags::TagId,
                        Tags::Table,
                        Tags::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            ProjectTags::Table,
            "uq_project_tags_project_tag",
            [ProjectTags::ProjectId, ProjectTags::TagId],
            true,
        )
        .await?;
        index(
            manager,
            ProjectTags::Table,
            "idx_project_tags_tag_id",
            [ProjectTags::TagId],
            false,
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Jobs::Table)
                    .col(pk_auto(Jobs::Id))
                    .col(uuid_uniq(Jobs::Uuid))
                    .col(string_len(Jobs::Kind, 16))
                    .col(json(Jobs::Payload))
                    .col(string_len(Jobs::Status, 16))
                    .col(integer(Jobs::Progress).default(0))
                    .col(text(Jobs::Message))
                    .col(integer(Jobs::Attempts).default(0))
                    .col(string_len_null(Jobs::LeaseOwner, 64))
                    .col(timestamp_with_time_zone_null(Jobs::LeaseExpiresAt))
                    .col(timestamp_with_time_zone(Jobs::CreatedAt))
                    .col(timestamp_with_time_zone(Jobs::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            Jobs::Table,
            "idx_jobs_status_created_at",
            [Jobs::Status, Jobs::CreatedAt],
            false,
        )
        .await?;

        manager
            .create_table(
                project_child(Deployments::Table, Deployments::Id, Deployments::ProjectId)
                    .col(integer(Deployments::TriggeredBy))
                    .col(integer(Deployments::JobId))
                    .col(string_len(Deployments::Status, 16))
                    .col(boolean(Deployments::Successful).default(false))
                    .col(string_len_null(Deployments::Commit, 40))
                    .col(string_len_null(Deployments::Endpoint, 255))
                    .col(timestamp_with_time_zone(Deployments::CreatedAt))
                    .col(timestamp_with_time_zone(Deployments::UpdatedAt))
                    .foreign_key(&mut cascade(
                        Deployments::Table,
                        Deployments::ProjectId,
                        Projects::Table,
                        Projects::Id,
                    ))
                    .foreign_key(&mut restrict(
                        Deployments::Table,
                        Deployments::JobId,
                        Jobs::Table,
                        Jobs::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            Deployments::Table,
            "idx_deployments_project_created_at",
            [Deployments::ProjectId, Deployments::CreatedAt],
            false,
        )
        .await?;
        index(
            manager,
            Deployments::Table,
            "idx_deployments_job_id",
            [Deployments::JobId],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(DeploymentLogs::Table)
                    .col(big_pk_auto(DeploymentLogs::Id))
                    .col(integer(DeploymentLogs::DeploymentId))
                    .col(string_len(DeploymentLogs::Kind, 16))
                    .col(text(DeploymentLogs::Line))
                    .col(timestamp_with_time_zone(DeploymentLogs::CreatedAt))
                    .foreign_key(&mut cascade(
                        DeploymentLogs::Table,
                        DeploymentLogs::DeploymentId,
                        Deployments::Table,
                        Deployments::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            DeploymentLogs::Table,
            "idx_deployment_logs_deployment_kind",
            [DeploymentLogs::DeploymentId, DeploymentLogs::Kind],
            false,
        )
        .await?;

        manager
            .create_table(
                project_child(Statistics::Table, Statistics::Id, Statistics::ProjectId)
                    .col(double(Statistics::CpuPercent))
                    .col(double(Statistics::MemoryPercent))
                    .col(big_integer(Statistics::MemoryUsed))
                    .col(big_integer(Statistics::MemoryLimit))
                    .col(big_integer(Statistics::BlockIoRead))
                    .col(big_integer(Statistics::BlockIoWrite))
                    .col(big_integer(Statistics::NetIoRx))
                    .col(big_integer(Statistics::NetIoTx))
                    .col(timestamp_with_time_zone(Statistics::CreatedAt))
                    .foreign_key(&mut cascade(
                        Statistics::Table,
                        Statistics::ProjectId,
                        Projects::Table,
                        Projects::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            Statistics::Table,
            "idx_statistics_project_created_at",
            [Statistics::ProjectId, Statistics::CreatedAt],
            false,
        )
        .await?;
        create_error_logs(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_error_logs(manager).await?;
        drop(manager, Statistics::Table).await?;
        drop(manager, DeploymentLogs::Table).await?;
        drop(manager, Deployments::Table).await?;
        drop(manager, Jobs::Table).await?;
        drop(manager, ProjectTags::Table).await?;
        drop(manager, Tags::Table).await?;
        drop(manager, TagTypes::Table).await?;
        drop(manager, EnvironmentVariables::Table).await?;
        drop(manager, StageFiles::Table).await?;
        drop(manager, Stages::Table).await?;
        drop(manager, StageStatuses::Table).await?;
        drop(manager, ProjectCourses::Table).await?;
        drop(manager, Ratings::Table).await?;
        drop(manager, Collaborators::Table).await?;
        drop(manager, Projects::Table).await?;
        drop(manager, Files::Table).await
    }
}
