//! The `api` binary: parse the configuration, set up logging, run a command.

use std::process::ExitCode;

use api::{app, cli, config::Config, graphql};
use clap::{Parser, Subcommand};

/// mimalloc instead of glibc's malloc: the gateway allocates many small short-lived
/// objects per request (GraphQL values, rows); glibc's per-thread arenas fragment under
/// load and hold the peak.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The GraphQL gateway of the student-projects platform.
#[derive(Parser)]
#[command(name = "api", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: Config,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway (the default).
    Serve,
    /// Print the GraphQL schema (SDL) without touching any database.
    Schema,
    /// Manage users without Google (bootstrap the first admin).
    #[command(subcommand)]
    User(cli::UserCommand),
    /// Fill empty databases with the benchmark dataset (deterministic).
    Seed {
        /// 1 = 2,000 users, 400 courses, 5,000 projects.
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Projects written at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// List references across databases that point to nothing; exits 1 when any does.
    Check,
    /// Print an access token for the user with this email.
    Token {
        #[arg(long)]
        email: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) if !error.use_stderr() => error.exit(),
        Err(error) => {
            // One line naming the setting, no usage dump.
            let rendered = error.to_string();
            eprintln!(
                "{}",
                rendered.lines().next().unwrap_or("error: bad arguments")
            );
            return ExitCode::from(2);
        }
    };
    app::init_tracing(cli.config.log_format);
    let outcome = match cli.command {
        Some(Command::Schema) => Ok(graphql::sdl()),
        Some(Command::User(command)) => cli::user(cli.config, command).await.map(|s| s + "\n"),
        Some(Command::Check) => cli::check(cli.config).await.map(|s| s + "\n"),
        Some(Command::Token { email }) => cli::token(cli.config, email).await.map(|s| s + "\n"),
        Some(Command::Seed { scale, concurrency }) => cli::seed(cli.config, scale, concurrency)
            .await
            .map(|s| s + "\n"),
        None | Some(Command::Serve) => app::run(cli.config)
            .await
            .map(|()| String::new())
            .map_err(Into::into),
    };
    match outcome {
        Ok(output) => {
            print!("{output}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {}", api::error::cause_chain(&error));
            ExitCode::FAILURE
        }
    }
}
