//! Pieces every domain's migrations share: the error log table, foreign keys, seeding.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveIden)]
enum ErrorLogs {
    Table,
    Id,
    Message,
    Detail,
    CreatedAt,
}

/// Every domain database records its unexpected server errors in `error_logs`.
pub async fn create_error_logs(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(ErrorLogs::Table)
                .col(pk_auto(ErrorLogs::Id))
                .col(string_len(ErrorLogs::Message, 500))
                .col(text(ErrorLogs::Detail))
                .col(timestamp_with_time_zone(ErrorLogs::CreatedAt))
                .to_owned(),
        )
        .await?;
    index(
        manager,
        ErrorLogs::Table,
        "idx_error_logs_created_at",
        [ErrorLogs::CreatedAt],
        false,
    )
    .await
}

pub async fn drop_error_logs(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    drop(manager, ErrorLogs::Table).await
}

/// A foreign key from `table.column` to `parent.id`, deleting children with the parent.
pub fn cascade<T, C, P, I>(
    table: T,
    column: C,
    parent: P,
    parent_id: I,
) -> ForeignKeyCreateStatement
where
    T: IntoIden + 'static,
    C: IntoIden + 'static,
    P: IntoIden + 'static,
    I: IntoIden + 'static,
{
    ForeignKey::create()
        .from(table, column)
        .to(parent, parent_id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// A foreign key that refuses to delete a parent still referenced.
pub fn restrict<T, C, P, I>(
    table: T,
    column: C,
    parent: P,
    parent_id: I,
) -> ForeignKeyCreateStatement
where
    T: IntoIden + 'static,
    C: IntoIden + 'static,
    P: IntoIden + 'static,
    I: IntoIden + 'static,
{
    ForeignKey::create()
        .from(table, column)
        .to(parent, parent_id)
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

/// Creates an index (unique when asked) over `columns` of `table`.
pub async fn index<T, C, const N: usize>(
    manager: &SchemaManager<'_>,
    table: T,
    name: &str,
    columns: [C; N],
    unique: bool,
) -> Result<(), DbErr>
where
    T: IntoIden + 'static,
    C: IntoIden + 'static,
{
    let mut statement = Index::create();
    statement.name(name).table(table);
    for column in columns {
        statement.col(column);
    }
    if unique {
        statement.unique();
    }
    manager.create_index(statement.to_owned()).await
}

pub async fn drop<T: IntoIden + 'static>(
    manager: &SchemaManager<'_>,
    table: T,
) -> Result<(), DbErr> {
    manager
        .drop_table(Table::drop().table(table).to_owned())
        .await
}

/// Inserts the reference rows `names` into the `name` column of `table`.
pub async fn seed_names<T, C>(
    manager: &SchemaManager<'_>,
    table: T,
    column: C,
    names: &[&str],
) -> Result<(), DbErr>
where
    T: IntoIden + 'static,
    C: IntoIden + 'static,
{
    let mut insert = Query::insert();
    insert.into_table(table).columns([column]);
    for name in names {
        insert.values_panic([(*name).into()]);
    }
    manager.exec_stmt(insert.to_owned()).await
}

/// Deletes the reference rows `names` from `table`.
pub async fn unseed_names<T, C>(
    manager: &SchemaManager<'_>,
    table: T,
    column: C,
    names: &[&str],
) -> Result<(), DbErr>
where
    T: IntoIden + 'static,
    C: IntoIden + 'static,
{
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    manager
        .exec_stmt(
            Query::delete()
                .from_table(table)
                .and_where(Expr::col(column).is_in(names))
                .to_owned(),
        )
        .await
}

/// Adds columns to a table, one statement each (SQLite's ALTER TABLE adds one at a time).
pub async fn add_columns<T: IntoIden + Clone + 'static>(
    manager: &SchemaManager<'_>,
    table: T,
    columns: Vec<ColumnDef>,
) -> Result<(), DbErr> {
    for column in columns {
        manager
            .alter_table(
                Table::alter()
                    .table(table.clone())
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}

/// Drops columns of a table, one statement each.
pub async fn drop_columns<T: IntoIden + Clone + 'static, C: IntoIden + 'static>(
    manager: &SchemaManager<'_>,
    table: T,
    columns: Vec<C>,
) -> Result<(), DbErr> {
    for column in columns {
        manager
            .alter_table(
                Table::alter()
                    .table(table.clone())
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}
