//! The `api` binary: parse the configuration, set up logging, run (or print the schema).

use std::process::ExitCode;

use api::{app, config::Config, graphql};
use clap::{Parser, Subcommand};

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
    if let Some(Command::Schema) = cli.command {
        print!("{}", graphql::sdl());
        return ExitCode::SUCCESS;
    }
    app::init_tracing(cli.config.log_format);
    match app::run(cli.config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", api::error::cause_chain(&error));
            ExitCode::FAILURE
        }
    }
}
