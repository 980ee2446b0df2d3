//! The migration binary: `migration <up|down|status|fresh|refresh|reset> [--domain D]`.

use std::{path::PathBuf, process::ExitCode};

use clap::Parser;
use migration::{AppEnv, Domain, Verb};

/// Migrates the users, academic and projects databases.
#[derive(Parser)]
#[command(name = "migration", version)]
struct Cli {
    /// What to do.
    verb: Verb,
    /// Only this domain's database (all three when absent).
    #[arg(long)]
    domain: Option<Domain>,
    /// Allow a destructive verb when APP_ENV=production.
    #[arg(long)]
    force: bool,
    /// Where the default SQLite databases live.
    #[arg(long, env = "DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
}

#[tokio::main]
async fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,migration=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let production = match AppEnv::from_env() {
        Ok(env) => env == AppEnv::Production,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    if production && cli.verb.is_destructive() && !cli.force {
        eprintln!(
            "error: `{:?}` destroys data and APP_ENV=production; add --force to do it anyway",
            cli.verb
        );
        return ExitCode::from(2);
    }
    let domains = cli.domain.map_or(Domain::ALL.to_vec(), |d| vec![d]);
    for domain in domains {
        let url = std::env::var(domain.url_variable())
            .unwrap_or_else(|_| domain.default_url(&cli.data_dir));
        match migration::run(domain, &url, cli.verb).await {
            Ok(states) => {
                for state in states {
                    let status = if state.applied { "applied" } else { "pending" };
                    println!("{:<9} {:<8} {}", domain.name(), status, state.name);
                }
            }
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
