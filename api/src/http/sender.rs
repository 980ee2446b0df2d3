//! Who sends a GraphQL request, found from its headers before its body is read: the
//! checked credentials (a token present but invalid is `401` at once) and the caller its
//! limits count for (the user, or the client's address).

use std::net::IpAddr;

use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::Response,
};

use super::{
    HttpState, admission,
    graphql::refusal,
    rate::{self, Caller},
};
use crate::{
    error::Code,
    users::viewer::{Checked, Credentials},
};

/// 401 for credentials that are present but not valid, before anything runs.
pub(super) fn unauthenticated(reason: &str) -> Response {
    let mut response = refusal(StatusCode::UNAUTHORIZED, Code::Unauthenticated, reason);
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer error=\"invalid_token\""),
    );
    response
}

/// Who sends a request: checked credentials and the caller its limits count for.
pub(super) struct Sender {
    pub credentials: Credentials,
    pub viewer: Checked,
    pub caller: Caller,
    pub address: IpAddr,
}

/// Reads the credentials (401 when present but invalid) and the client's address.
async fn identify(http: &HttpState, headers: &HeaderMap, peer: IpAddr) -> Result<Sender, Response> {
    let trusted = &http.state.config.connections.trusted_proxies;
    let address = rate::client_address(peer, headers, trusted);
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let credentials = Credentials::from_authorization(authorization)
        .map_err(|reason| unauthenticated(&reason))?;
    let viewer = Checked::resolve(&http.state, &credentials)
        .await
        .map_err(|reason| unauthenticated(&reason))?;
    let caller = viewer
        .user_id()
        .map_or(Caller::Address(address), Caller::User);
    Ok(Sender {
        credentials,
        viewer,
        caller,
        address,
    })
}

/// [`identify`], then the caller's turn ([`admission::Admission::enter`]).
pub(super) async fn enter(
    http: &HttpState,
    headers: &HeaderMap,
    peer: IpAddr,
) -> Result<(Sender, admission::Entered), Response> {
    let sender = identify(http, headers, peer).await?;
    let entered = http
        .admission
        .enter(sender.caller)
        .await
        .map_err(admission::crowded)?;
    Ok((sender, entered))
}
