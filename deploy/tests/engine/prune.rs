//! Old logs are pruned in bounded batches; a serving deployment's lines stay, however old.

use chrono::{Duration as Days, Utc};
use deploy::{Engine, NoopRunner, Payload, queue};
use entities::projects::{deployment, deployment_log, enums::JobStatus, enums::LogKind, project};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Set, sea_query::Expr,
};

use super::{TestDb, config, project as new_project};

/// A finished deployment created `age` ago, with `lines` BUILD lines.
async fn old_deployment(
    db: &DatabaseConnection,
    p: &project::Model,
    age: Days,
    lines: usize,
) -> i32 {
    let recorded = queue::record(db, &Payload::of(p), 1, JobStatus::Succeeded, None)
        .await
        .expect("recorded");
    deployment::Entity::update_many()
        .col_expr(deployment::Column::CreatedAt, Expr::value(Utc::now() - age))
        .filter(deployment::Column::Id.eq(recorded.id))
        .exec(db)
        .await
        .expect("aged");
    let rows = (0..lines).map(|n| deployment_log::ActiveModel {
        deployment_id: Set(recorded.id),
        kind: Set(LogKind::Build),
        line: Set(format!("line {n}")),
        created_at: Set(Utc::now() - age),
        ..Default::default()
    });
    deployment_log::Entity::insert_many(rows)
        .exec(db)
        .await
        .expect("logged");
    recorded.id
}

async fn lines_of(db: &DatabaseConnection, deployment_id: i32) -> u64 {
    deployment_log::Entity::find()
        .filter(deployment_log::Column::DeploymentId.eq(deployment_id))
        .count(db)
        .await
        .expect("counted")
}

#[tokio::test]
async fn logs_older_than_the_retention_go_in_batches_and_a_serving_deployments_stay() {
    for db in TestDb::all().await {
        let conn = db.conn.clone();
        let (a, b) = (new_project(&conn, 1).await, new_project(&conn, 2).await);
        let old = old_deployment(&conn, &a, Days::days(40), 2500).await;
        let serving = old_deployment(&conn, &b, Days::days(40), 10).await;
        let recent = old_deployment(&conn, &a, Days::days(2), 10).await;
        project::Entity::update_many()
            .col_expr(project::Column::Running, Expr::value(true))
            .col_expr(project::Column::ServingDeploymentId, Expr::value(serving))
            .col_expr(project::Column::ServingFolder, Expr::value(serving))
            .filter(project::Column::Id.eq(b.id))
            .exec(&conn)
            .await
            .expect("placed");
        let mut settings = config(0);
        settings.log_retention_days = Some(30);
        let engine =
            Engine::start_with_runner(settings, conn.clone(), std::sync::Arc::new(NoopRunner));
        // The routine's first round may be at it too: between them, every old line goes.
        let pruned = engine.prune_logs().await.expect("pruned");
        assert!((1..=2500).contains(&pruned), "{pruned} pruned");
        assert_eq!(lines_of(&conn, old).await, 0);
        assert_eq!(
            lines_of(&conn, serving).await,
            10,
            "what serves keeps its lines"
        );
        assert_eq!(lines_of(&conn, recent).await, 10, "within the retention");
        assert_eq!(engine.prune_logs().await.expect("pruned"), 0);
        engine.shutdown().await;
        db.drop().await;
    }
}
