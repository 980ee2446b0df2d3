//! How much one request may ask for: the shape of its document (checked after parsing,
//! before validation), its estimated cost (lists multiplied by their page size), and the
//! objects its answer may hold (counted while it runs).

use std::time::Duration;

use clap::Args;

use crate::{
    graphql::{inputs::InputLimits, shape::ShapeLimits},
    http::server::ServerLimits,
};

#[derive(Clone, Debug, Args)]
pub struct QueryLimits {
    /// Deepest selection a query may nest.
    #[arg(long, env = "MAX_QUERY_DEPTH", value_name = "MAX_QUERY_DEPTH", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_query_depth: u16,

    /// Most a query may cost: each field 1, a list's selection multiplied by its page size
    /// (`first`, `last`) or, for lists without one, by 10.
    #[arg(long, env = "MAX_QUERY_COMPLEXITY", value_name = "MAX_QUERY_COMPLEXITY", default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_query_complexity: u32,

    /// Most fields an operation selects once fragments are expanded (`__typename`,
    /// aliases and repeated spreads included).
    #[arg(long, env = "MAX_QUERY_FIELDS", value_name = "MAX_QUERY_FIELDS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_query_fields: u64,

    /// Most root fields an operation selects once fragments are expanded.
    #[arg(long, env = "MAX_ROOT_FIELDS", value_name = "MAX_ROOT_FIELDS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_root_fields: u64,

    /// Most aliased fields a document writes.
    #[arg(long, env = "MAX_QUERY_ALIASES", value_name = "MAX_QUERY_ALIASES", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..))]
    pub max_query_aliases: u64,

    /// Most fragment spreads a document writes.
    #[arg(long, env = "MAX_FRAGMENT_SPREADS", value_name = "MAX_FRAGMENT_SPREADS", default_value_t = 100, value_parser = clap::value_parser!(u64).range(0..))]
    pub max_fragment_spreads: u64,

    /// Most directives on one field.
    #[arg(long, env = "MAX_DIRECTIVES_PER_FIELD", value_name = "MAX_DIRECTIVES_PER_FIELD", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_directives_per_field: u16,

    /// Most objects the lists of one answer may hold together; past it the request
    /// fails with QUERY_TOO_COMPLEX (a bound on what one request can make the server
    /// hold in memory, whatever the estimate said).
    #[arg(long, env = "MAX_RESULT_OBJECTS", value_name = "MAX_RESULT_OBJECTS", default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_result_objects: u64,

    /// Most characters in any string or ID argument or input field (services hold most
    /// fields to less); BAD_USER_INPUT naming the argument above it.
    #[arg(long, env = "MAX_INPUT_STRING_CHARS", value_name = "MAX_INPUT_STRING_CHARS", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_input_string_chars: u32,

    /// Most items in any list argument or input field; BAD_USER_INPUT naming the
    /// argument above it.
    #[arg(long, env = "MAX_INPUT_LIST_ITEMS", value_name = "MAX_INPUT_LIST_ITEMS", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_input_list_items: u32,
}

impl QueryLimits {
    pub fn inputs(&self) -> InputLimits {
        InputLimits {
            string_chars: self.max_input_string_chars as usize,
            list_items: self.max_input_list_items as usize,
        }
    }

    pub fn shape(&self) -> ShapeLimits {
        ShapeLimits {
            fields: self.max_query_fields,
            root_fields: self.max_root_fields,
            aliases: self.max_query_aliases,
            fragment_spreads: self.max_fragment_spreads,
        }
    }
}

/// How many connections, and how long each may sit idle or take to shut down.
#[derive(Clone, Debug, Args)]
pub struct ConnectionLimits {
    /// Connections open at once (WebSockets included); one more is closed at once.
    /// Lowered at start to what the open-files limit allows.
    #[arg(long, env = "MAX_CONNECTIONS", value_name = "MAX_CONNECTIONS", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Seconds a client has to send a request's head; a keep-alive connection idle that
    /// long is closed.
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECS", value_name = "HEADER_READ_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_read_timeout_secs: u64,

    /// On SIGTERM: seconds in-flight requests get to finish before the process exits
    /// anyway.
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", value_name = "SHUTDOWN_GRACE_SECS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub shutdown_grace_secs: u64,

    /// Seconds a WebSocket client has to send `connection_init` (closed with 4408 after).
    #[arg(long, env = "WS_INIT_TIMEOUT_SECS", value_name = "WS_INIT_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub ws_init_timeout_secs: u64,

    /// Mutations per minute per caller (the signed-in user, else the client's address);
    /// 0 turns the limit off.
    #[arg(
        long,
        env = "RATE_LIMIT_MUTATIONS_PER_MINUTE",
        value_name = "RATE_LIMIT_MUTATIONS_PER_MINUTE",
        default_value_t = 300
    )]
    pub rate_limit_mutations_per_minute: u32,

    /// Sign-ins and token refreshes per minute per client address; 0 turns it off.
    #[arg(
        long,
        env = "RATE_LIMIT_SIGN_IN_PER_MINUTE",
        value_name = "RATE_LIMIT_SIGN_IN_PER_MINUTE",
        default_value_t = 30
    )]
    pub rate_limit_sign_in_per_minute: u32,

    /// Operations one WebSocket connection may run at once.
    #[arg(long, env = "WS_MAX_SUBSCRIPTIONS", value_name = "WS_MAX_SUBSCRIPTIONS", default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..))]
    pub ws_max_subscriptions: u16,

    /// Addresses of reverse proxies whose `X-Forwarded-For` is believed, comma-separated
    /// (empty: none; the TCP peer's address is the client's). Rate limits count per
    /// client address.
    #[arg(
        long,
        env = "TRUSTED_PROXIES",
        value_name = "TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl ConnectionLimits {
    pub fn server(&self) -> ServerLimits {
        ServerLimits {
            max_connections: self.max_connections as usize,
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs),
            grace: Duration::from_secs(self.shutdown_grace_secs),
        }
        .fitted()
    }
}
