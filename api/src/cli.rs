//! Operator commands that need no Google: create or promote a user, print a token.

use clap::Subcommand;

use crate::{
    app::{self, StartError},
    config::Config,
    error::{ServiceError, cause_chain},
    users::{model::RoleName, service},
};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user by email (or find the existing one) and give them a role.
    Create {
        #[arg(long)]
        email: String,
        /// STUDENT, TEACHER, ADMIN or SUPPORT.
        #[arg(long, default_value = "STUDENT", value_parser = parse_role)]
        role: RoleName,
    },
}

fn parse_role(text: &str) -> Result<RoleName, String> {
    RoleName::from_db(&text.to_uppercase())
        .map_err(|_| format!("{text:?} is not STUDENT, TEACHER, ADMIN or SUPPORT"))
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("{0}")]
    Service(String),
}

impl From<ServiceError> for CommandError {
    fn from(error: ServiceError) -> Self {
        CommandError::Service(cause_chain(&error))
    }
}

/// `api user create --email E [--role R]`: prints what it did.
pub async fn user(config: Config, command: UserCommand) -> Result<String, CommandError> {
    let state = app::state(config).await?;
    let UserCommand::Create { email, role } = command;
    let (user, created) = service::create_user(&state.databases.users, &email, role).await?;
    let verb = if created { "created" } else { "updated" };
    Ok(format!(
        "{verb} user {} <{}> with role {}",
        user.id,
        user.email,
        role.as_db()
    ))
}

/// `api token --email E`: prints an access token for that user.
pub async fn token(config: Config, email: String) -> Result<String, CommandError> {
    let state = app::state(config).await?;
    let user = service::user_by_email(&state.databases.users, &email).await?;
    if !user.is_active {
        return Err(CommandError::Service(format!(
            "{} is deactivated",
            user.email
        )));
    }
    state
        .tokens
        .access(user.id, user.token_version)
        .map_err(|e| CommandError::Service(cause_chain(&e)))
}

/// `api seed --scale S`: fills the databases with the benchmark dataset.
pub async fn seed(config: Config, scale: f64, concurrency: usize) -> Result<String, CommandError> {
    if !(scale > 0.0 && scale <= 20.0) {
        return Err(CommandError::Service(
            "--scale must be above 0 and at most 20".into(),
        ));
    }
    let state = app::state(config).await?;
    Ok(crate::seed::run(&state, scale, concurrency).await?)
}

/// `api check`: lists every dangling reference across the databases; an error (so a
/// non-zero exit) when there is one.
pub async fn check(config: Config) -> Result<String, CommandError> {
    config.validate().map_err(StartError::from)?;
    let databases = crate::db::Databases::connect(&config)
        .await
        .map_err(StartError::from)?;
    let found = crate::check::run(&databases)
        .await
        .map_err(|e| CommandError::Service(cause_chain(&e)))?;
    if found.is_empty() {
        return Ok(format!(
            "no dangling references ({} kinds checked)",
            crate::check::REFERENCES.len()
        ));
    }
    let lines: Vec<String> = found.iter().map(ToString::to_string).collect();
    Err(CommandError::Service(format!(
        "{} kind(s) of dangling references:\n{}",
        found.len(),
        lines.join("\n")
    )))
}
