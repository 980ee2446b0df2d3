//! Build the state, the schema and the router; bind; serve until a shutdown signal.
//! The binary and the tests go through the same `build`.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::Router;
use tokio::net::TcpListener;

use crate::{
    config::{Config, ConfigError, LogFormat},
    db::Databases,
    graphql, http,
    projects::{crypto::Cipher, deploys::service::Variables},
    state::AppState,
    users::{
        google::GoogleVerifier,
        student_databases::StudentServers,
        tokens::Tokens,
        viewer::{self, ViewerCache},
    },
};

/// Why the gateway could not start; each says which setting to look at.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("BIND_ADDR {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("DATA_DIR {path}: {source}")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Database(#[from] migration::Error),
    #[error(transparent)]
    Secret(#[from] crate::users::tokens::SecretError),
    #[error("DEPLOY_DIR: {0}")]
    Deploy(#[source] deploy::EngineError),
    #[error("serving: {0}")]
    Serve(#[source] std::io::Error),
}

/// Opens the databases and loads the secrets: everything but the listener.
pub async fn state(config: Config) -> Result<AppState, StartError> {
    config.validate()?;
    std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::DataDir {
        path: config.data_dir.display().to_string(),
        source,
    })?;
    let secret = Tokens::load_secret(config.jwt_secret.as_deref(), &config.data_dir)?;
    let tokens = Tokens::new(
        &secret,
        Duration::from_secs(config.access_token_ttl_secs),
        Duration::from_secs(config.refresh_token_ttl_secs),
    )?;
    let google = GoogleVerifier::new(
        config.google_client_ids.clone(),
        config.google_jwks_url.clone(),
    );
    let student_servers = StudentServers::new(&config);
    let cipher = Cipher::load(config.secrets_key.as_deref(), &config.data_dir)?;
    let databases = Databases::connect(&config).await?;
    protect_data_dir(&config.data_dir)?;
    let swept = crate::projects::files::sweep_unfinished(&config.data_dir);
    if swept > 0 {
        tracing::warn!(swept, "removed uploads a stopped process left unfinished");
    }
    let mut engine_config = config.deploy.engine(
        config.allow_local_repositories,
        student_server_addresses(&config),
    );
    engine_config.reachable = sandbox_reachable(&config);
    engine_config.public_url = config.deploy.apps_url().to_owned();
    // Sandboxed code sees neither the gateway's data nor the folder it runs from (a
    // `.env` there holds its secrets).
    engine_config.hidden = std::iter::once(config.data_dir.clone())
        .chain(std::env::current_dir().ok())
        .collect();
    let engine = deploy::Engine::new(
        engine_config,
        databases.projects.uncounted(),
        Arc::new(Variables {
            db: databases.projects.uncounted(),
            cipher: cipher.clone(),
        }),
    )
    .map_err(StartError::Deploy)?;
    let shutdown = tokio_util::sync::CancellationToken::new();
    Ok(AppState::new(crate::state::Parts {
        viewers: viewer_cache(&config, &databases, &shutdown).await,
        occupancy: Arc::default(),
        config: Arc::new(config),
        databases,
        tokens,
        google: Arc::new(google),
        student_servers: Arc::new(student_servers),
        cipher,
        deploy: engine,
        shutdown,
    }))
}

/// The viewer cache. On PostgreSQL it keeps viewers only while it hears about changes:
/// it starts listening before the gateway serves, and a task follows until `shutdown`.
async fn viewer_cache(
    config: &Config,
    databases: &Databases,
    shutdown: &tokio_util::sync::CancellationToken,
) -> Arc<ViewerCache> {
    let users = databases.users.uncounted();
    let postgres = users.get_database_backend() == sea_orm::DbBackend::Postgres;
    let ttl = Duration::from_secs(config.viewer_cache_secs);
    let cache = Arc::new(ViewerCache::new(ttl, !postgres));
    if postgres && !ttl.is_zero() {
        let first = viewer::subscribe(&users).await;
        cache.keep(first.is_some());
        let follow = viewer::listen(cache.clone(), users, first, shutdown.clone());
        tokio::spawn(follow);
    }
    cache
}

/// DATA_DIR holds the SQLite files and the generated secrets: only the gateway's user
/// enters it (deployed apps run as other users and must read neither).
fn protect_data_dir(dir: &std::path::Path) -> Result<(), StartError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|source| {
        StartError::DataDir {
            path: dir.display().to_string(),
            source,
        }
    })
}

/// The configured student database servers: (variable prefix, host, port).
fn student_server_list(config: &Config) -> Vec<(&'static str, String, u16)> {
    let mut servers = Vec::new();
    for (prefix, url, default_port) in [
        ("STUDENT_POSTGRES", &config.student_postgres_admin_url, 5432),
        ("STUDENT_MARIADB", &config.student_mariadb_admin_url, 3306),
    ] {
        let Some(parsed) = url.as_deref().and_then(|u| url::Url::parse(u).ok()) else {
            continue;
        };
        if let Some(host) = parsed.host_str() {
            let host = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            servers.push((prefix, host, parsed.port().unwrap_or(default_port)));
        }
    }
    servers
}

/// Where apps reach the student database servers: host and port only, never the admin
/// credentials.
fn student_server_addresses(config: &Config) -> Vec<(String, String)> {
    student_server_list(config)
        .into_iter()
        .flat_map(|(prefix, host, port)| {
            [
                (format!("{prefix}_HOST"), host),
                (format!("{prefix}_PORT"), port.to_string()),
            ]
        })
        .collect()
}

/// The student database servers, the only addresses of the host or the campus that
/// sandboxed code reaches.
fn sandbox_reachable(config: &Config) -> Vec<deploy::sandbox::net::Reachable> {
    student_server_list(config)
        .into_iter()
        .map(|(_, host, port)| deploy::sandbox::net::Reachable { host, port })
        .collect()
}

/// A gateway ready to serve: bound, connected, migrated.
pub struct App {
    pub state: AppState,
    router: Router,
    listener: TcpListener,
    /// `/metrics` on its own address, when METRICS_BIND_ADDR is set.
    metrics: Option<(TcpListener, Router)>,
}

/// Validates the configuration, binds, opens (and migrates) the three databases.
pub async fn build(mut config: Config) -> Result<App, StartError> {
    config.validate()?;
    let listener = TcpListener::bind(config.bind_addr)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.bind_addr,
            source,
        })?;
    let metrics_listener = match config.metrics_bind_addr {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .map_err(|source| StartError::Bind { addr, source })?,
        ),
        None => None,
    };
    if config.deploy.apps_public_url.is_none() {
        // The port actually bound (tests bind 0).
        let port = listener
            .local_addr()
            .map_or(config.bind_addr.port(), |a| a.port());
        let port = if port == 80 {
            String::new()
        } else {
            format!(":{port}")
        };
        config.deploy.apps_public_url = Some(format!(
            "http://{{slug}}.{}{port}",
            config.deploy.apps_domain
        ));
    }
    let state = state(config).await?;
    state.deploy.dispatch();
    let schema = graphql::schema(state.clone());
    let router = http::router(state.clone(), schema.clone());
    let metrics = metrics_listener.map(|l| (l, http::metrics_router(state.clone(), schema)));
    Ok(App {
        state,
        router,
        listener,
        metrics,
    })
}

impl App {
    /// The address actually bound (tests bind port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where `/metrics` is served apart, if it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
    }

    /// Serves until `shutdown` resolves. Then, at once: `/readyz` answers 503, open
    /// subscriptions are closed with a close frame, and the deploy engine stops claiming
    /// and gives its running deploys their grace; requests in flight finish; the engine
    /// stops its apps, and the databases are closed.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let databases = self.state.databases.clone();
        let token = self.state.shutdown.clone();
        let engine = {
            let (engine, token) = (self.state.deploy.clone(), token.clone());
            tokio::spawn(async move {
                token.cancelled().await;
                engine.shutdown().await;
            })
        };
        let signalled = {
            let token = token.clone();
            async move {
                tokio::select! {
                    () = shutdown => token.cancel(),
                    () = token.cancelled() => {}
                }
            }
        };
        let limits = self.state.config.connections.server();
        let signal = tokio::spawn(signalled);
        // The operator address answers until the drain ends (probes see the 503).
        let drained = tokio_util::sync::CancellationToken::new();
        let operator = self.metrics.map(|(listener, router)| {
            let stop = drained.clone().cancelled_owned();
            tokio::spawn(async move {
                if let Err(error) = axum::serve(listener, router)
                    .with_graceful_shutdown(stop)
                    .await
                {
                    tracing::error!(%error, "the metrics listener stopped");
                }
            })
        });
        let occupancy = self.state.occupancy.clone();
        http::server::serve(
            self.listener,
            self.router,
            limits,
            (token.clone(), occupancy),
        )
        .await;
        signal.abort();
        token.cancel();
        let _ = engine.await;
        drained.cancel();
        if let Some(operator) = operator {
            let _ = operator.await;
        }
        databases.close().await;
        Ok(())
    }
}

/// The binary's path: build, say where GraphiQL is, serve until SIGTERM or Ctrl-C.
pub async fn run(config: Config) -> Result<(), StartError> {
    let app = build(config).await?;
    let addr = app.local_addr().map_err(StartError::Serve)?;
    tracing::info!(%addr, "listening");
    if app.state.config.graphiql_on() {
        println!("GraphiQL: http://{addr}/  (GraphQL endpoint http://{addr}/graphql)");
    } else {
        println!("GraphQL endpoint: http://{addr}/graphql  (GraphiQL off: GRAPHIQL=true)");
    }
    app.serve(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

/// Logs to stderr, human-readable or JSON; `RUST_LOG` refines the default filter.
pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init(),
    }
}
