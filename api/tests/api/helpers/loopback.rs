//! Name resolution for the tests' HTTP client.

/// Resolves `localhost` and every `*.localhost` name to loopback, as browsers do (RFC
/// 6761), so `http://<slug>.apps.localhost:<port>/` reaches a test's gateway; anything
/// else is refused (tests reach nothing but loopback).
pub struct Loopback;

impl reqwest::dns::Resolve for Loopback {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        let local = host == "localhost" || host.ends_with(".localhost");
        Box::pin(async move {
            if local {
                let addrs: reqwest::dns::Addrs = Box::new(std::iter::once(
                    std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
                ));
                Ok(addrs)
            } else {
                Err(format!("{host}: tests resolve only *.localhost").into())
            }
        })
    }
}
