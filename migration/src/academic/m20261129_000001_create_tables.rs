//! Subjects (unique code), courses (unique subject, year, period, group), enrolments
//! (unique course, student), error logs.

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{cascade, create_error_logs, drop, drop_error_logs, index, restrict};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Subjects {
    Table,
    Id,
    Code,
    Name,
}

#[derive(DeriveIden)]
enum Courses {
    Table,
    Id,
    SubjectId,
    Year,
    Period,
    GroupName,
    TeacherId,
}

#[derive(DeriveIden)]
enum Enrollments {
    Table,
    Id,
    CourseId,
    StudentId,
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
                    .table(Subjects::Table)
                    .col(pk_auto(Subjects::Id))
                    .col(string_len_uniq(Subjects::Code, 10))
                    .col(string_len(Subjects::Name, 120))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Courses::Table)
                    .col(pk_auto(Courses::Id))
                    .col(integer(Courses::SubjectId))
                    .col(integer(Courses::Year))
                    .col(integer(Courses::Period))
                    .col(string_len(Courses::GroupName, 3))
                    .col(integer(Courses::TeacherId))
                    .foreign_key(&mut restrict(
                        Courses::Table,
                        Courses::SubjectId,
                        Subjects::Table,
                        Subjects::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            Courses::Table,
            "uq_courses_subject_year_period_group",
            [
                Courses::SubjectId,
                Courses::Year,
                Courses::Period,
                Courses::GroupName,
            ],
            true,
        )
        .await?;
        index(
            manager,
            Courses::Table,
            "idx_courses_teacher_id",
            [Courses::TeacherId],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(Enrollments::Table)
                    .col(pk_auto(Enrollments::Id))
                    .col(integer(Enrollments::CourseId))
                    .col(integer(Enrollments::StudentId))
                    .foreign_key(&mut cascade(
                        Enrollments::Table,
                        Enrollments::CourseId,
                        Courses::Table,
                        Courses::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            Enrollments::Table,
            "uq_enrollments_course_student",
            [Enrollments::CourseId, Enrollments::StudentId],
            true,
        )
        .await?;
        index(
            manager,
            Enrollments::Table,
            "idx_enrollments_student_id",
            [Enrollments::StudentId],
            false,
        )
        .await?;
        create_error_logs(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_error_logs(manager).await?;
        drop(manager, Enrollments::Table).await?;
        drop(manager, Courses::Table).await?;
        drop(manager, Subjects::Table).await
    }
}
