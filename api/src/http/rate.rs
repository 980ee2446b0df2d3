//! Rate limits on what changes state: mutations per caller (the signed-in user, or the
//! client's address when anonymous), and sign-in and token refresh per client address.
//! Past a limit the request is answered `429` with `Retry-After` and the code
//! `RATE_LIMITED`, before anything runs. GCRA buckets from `governor`; the buckets of
//! callers gone quiet are dropped every minute, so memory follows the active callers.

use std::{net::IpAddr, num::NonZeroU32, sync::Arc, time::Duration};

use async_graphql::{
    Request,
    parser::{
        parse_query,
        types::{OperationType, Selection},
    },
};
use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::Response,
};
use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};

use super::graphql::refusal;
use crate::error::Code;

/// Who a limit counts for.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Caller {
    User(i32),
    Address(IpAddr),
}

/// The gateway's limits; `None` where a limit is off (0 in the configuration).
pub struct RateLimits {
    mutations: Option<DefaultKeyedRateLimiter<Caller>>,
    sign_in: Option<DefaultKeyedRateLimiter<IpAddr>>,
    clock: DefaultClock,
}

/// Which limit refused, and when to come back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limited {
    pub what: &'static str,
    pub retry_after: Duration,
}

impl RateLimits {
    pub fn new(mutations_per_minute: u32, sign_in_per_minute: u32) -> Arc<Self> {
        let limits = Arc::new(Self {
            mutations: NonZeroU32::new(mutations_per_minute)
                .map(|n| RateLimiter::keyed(Quota::per_minute(n))),
            sign_in: NonZeroU32::new(sign_in_per_minute)
                .map(|n| RateLimiter::keyed(Quota::per_minute(n))),
            clock: DefaultClock::default(),
        });
        let weak = Arc::downgrade(&limits);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                let Some(limits) = weak.upgrade() else {
                    return;
                };
                if let Some(l) = &limits.mutations {
                    l.retain_recent();
                }
                if let Some(l) = &limits.sign_in {
                    l.retain_recent();
                }
            }
        });
        limits
    }

    /// Takes one mutation from `caller`'s budget, and one sign-in or refresh from
    /// `address`'s when `signs_in`.
    pub fn mutation(&self, caller: Caller, address: IpAddr, signs_in: bool) -> Result<(), Limited> {
        if signs_in
            && let Some(limiter) = &self.sign_in
            && let Err(not_until) = limiter.check_key(&address)
        {
            return Err(Limited {
                what: "sign-ins and token refreshes from this address",
                retry_after: not_until.wait_time_from(self.clock.now()),
            });
        }
        if let Some(limiter) = &self.mutations
            && let Err(not_until) = limiter.check_key(&caller)
        {
            return Err(Limited {
                what: "mutations",
                retry_after: not_until.wait_time_from(self.clock.now()),
            });
        }
        Ok(())
    }
}

impl Limited {
    /// Whole seconds to wait, at least one.
    pub fn seconds(&self) -> u64 {
        self.retry_after.as_secs().max(1)
    }

    pub fn message(&self) -> String {
        format!("too many {}; try again in {} s", self.what, self.seconds())
    }
}

/// 429 past a rate limit, before anything runs.
pub fn refused(limited: Limited) -> Response {
    let mut response = refusal(
        StatusCode::TOO_MANY_REQUESTS,
        Code::RateLimited,
        limited.message(),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(limited.seconds()));
    response
}

/// The client's address: the TCP peer's, unless the peer is a trusted proxy
/// (`TRUSTED_PROXIES`); then the nearest address in `X-Forwarded-For` that is not one
/// (each proxy appends the address it saw, so the addresses right of that one were
/// written by trusted proxies and the ones left of it by the client, who may lie).
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in forwarded.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(address) if trusted.contains(&address) => {}
            Ok(address) => return address,
            // A hop that is not an address: nothing left of it can be trusted.
            Err(_) => return peer,
        }
    }
    peer
}

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// Root fields that sign in (counted against the per-address sign-in limit).
const SIGN_IN_FIELDS: [&str; 2] = ["signInWithGoogle", "refreshToken"];

/// `Some(signs_in)` when the operation `request` runs is a mutation.
pub fn mutation_kind(request: &Request) -> Option<bool> {
    // Most requests are queries: no second parse for them.
    if !request.query.contains("mutation") {
        return None;
    }
    let document = parse_query(&request.query).ok()?;
    let operation = super::graphql::selected(&document, request)?;
    if operation.node.ty != OperationType::Mutation {
        return None;
    }
    let mut sets = vec![&operation.node.selection_set.node];
    let mut seen = std::collections::HashSet::new();
    let mut signs_in = false;
    while let Some(set) = sets.pop() {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    signs_in |= SIGN_IN_FIELDS.contains(&field.node.name.node.as_str());
                }
                Selection::InlineFragment(inline) => sets.push(&inline.node.selection_set.node),
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    if seen.insert(name.clone())
                        && let Some(fragment) = document.fragments.get(name)
                    {
                        sets.push(&fragment.node.selection_set.node);
                    }
                }
            }
        }
    }
    Some(signs_in)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_caller_has_its_own_budget_and_zero_turns_a_limit_off() {
        let limits = RateLimits::new(2, 1);
        let here: IpAddr = [127, 0, 0, 1].into();
        let (ana, ben) = (Caller::User(1), Caller::User(2));
        assert!(limits.mutation(ana, here, false).is_ok());
        assert!(limits.mutation(ana, here, false).is_ok());
        let refused = limits.mutation(ana, here, false).expect_err("a third");
        assert_eq!(refused.what, "mutations");
        assert!(refused.retry_after > Duration::ZERO);
        assert!(limits.mutation(ben, here, false).is_ok(), "another user");
        assert!(limits.mutation(Caller::Address(here), here, true).is_ok());
        let refused = limits
            .mutation(Caller::Address(here), here, true)
            .expect_err("a second sign-in");
        assert!(refused.what.starts_with("sign-ins"));

        let off = RateLimits::new(0, 0);
        for _ in 0..1000 {
            assert!(off.mutation(ana, here, true).is_ok());
        }
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let proxy: IpAddr = [10, 0, 0, 1].into();
        let client: IpAddr = [203, 0, 113, 7].into();
        let mut headers = HeaderMap::new();
        headers.insert(
            X_FORWARDED_FOR,
            HeaderValue::from_static("198.51.100.1, 203.0.113.7"),
        );
        assert_eq!(
            client_address(proxy, &headers, &[]),
            proxy,
            "no trusted proxy"
        );
        assert_eq!(
            client_address(client, &headers, &[proxy]),
            client,
            "not from the proxy"
        );
        assert_eq!(
            client_address(proxy, &headers, &[proxy]),
            client,
            "the nearest untrusted hop, not the one the client wrote"
        );
        headers.insert(
            X_FORWARDED_FOR,
            HeaderValue::from_static("garbage, 10.0.0.1"),
        );
        assert_eq!(client_address(proxy, &headers, &[proxy]), proxy);
        assert_eq!(client_address(proxy, &HeaderMap::new(), &[proxy]), proxy);
    }
}
