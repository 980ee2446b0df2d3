//! The migration binary as an operator runs it.

use std::process::{Command, Output};

fn migration(data_dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_migration"));
    command
        .args(args)
        .env("DATA_DIR", data_dir)
        .env_remove("USERS_DATABASE_URL")
        .env_remove("ACADEMIC_DATABASE_URL")
        .env_remove("PROJECTS_DATABASE_URL")
        .env_remove("APP_ENV");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("the migration binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn up_migrates_all_three_databases_and_a_second_up_changes_nothing() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let first = migration(dir.path(), &["up"], &[]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    for domain in ["users", "academic", "projects"] {
        assert!(
            dir.path()
                .join(format!("students_project_{domain}.sqlite"))
                .exists()
        );
    }
    assert!(!stdout(&first).contains("pending"));
    let second = migration(dir.path(), &["up"], &[]);
    assert!(second.status.success());
    assert_eq!(stdout(&first), stdout(&second));
}

#[test]
fn status_of_one_domain_lists_its_migrations_only() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let output = migration(dir.path(), &["status", "--domain", "academic"], &[]);
    assert!(output.status.success());
    let text = stdout(&output);
    assert!(
        text.lines().all(|line| line.starts_with("academic")),
        "{text}"
    );
    assert!(text.contains("pending"), "{text}");
}

#[test]
fn destructive_verbs_refuse_in_production_without_force() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    assert!(migration(dir.path(), &["up"], &[]).status.success());
    // The gateway's spellings: any case.
    for (verb, env) in [
        ("down", "production"),
        ("fresh", "PRODUCTION"),
        ("refresh", "Production"),
        ("reset", " production "),
    ] {
        let refused = migration(dir.path(), &[verb], &[("APP_ENV", env)]);
        assert_eq!(refused.status.code(), Some(2), "{verb} {env:?}");
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("--force"),
            "{verb}"
        );
    }
    // An APP_ENV the gateway would refuse is refused here too, before anything runs.
    let unknown = migration(dir.path(), &["down"], &[("APP_ENV", "prod")]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("APP_ENV"));
    let status = migration(dir.path(), &["status"], &[]);
    assert!(
        !stdout(&status).contains("pending"),
        "nothing was rolled back"
    );
    let forced = migration(
        dir.path(),
        &["reset", "--force", "--domain", "users"],
        &[("APP_ENV", "production")],
    );
    assert!(forced.status.success());
    let status = migration(dir.path(), &["status", "--domain", "users"], &[]);
    assert!(stdout(&status).lines().all(|l| l.contains("pending")));
}
