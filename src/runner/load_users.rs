//! Who each user of a load is: its `{{ user.index }}` (0-based, counted over every shard) and
//! `{{ user.count }}`, its `data:` row (`user.index mod rows`), and its own connection
//! settings when their templates name either.

use super::conn::ConnectSpec;
use super::request::{connect_specs, header_secrets};
use super::steps::{Ctx, State};
use crate::collection::Request;
use crate::report::Failure;

pub(super) struct Users {
    /// The index of this shard's first user.
    first: u64,
    /// Every shard's users together.
    count: u64,
    /// Whether a connection's URL, headers, subprotocols or options name `user` or `row`: then
    /// each user expands them for itself (otherwise they are expanded once for all).
    per_user: bool,
}

impl Users {
    pub fn new(request: &Request, count: u64, shard: Option<(u32, u32)>) -> Self {
        let first = match shard {
            Some((k, n)) if n > 1 => {
                let (k, n) = (u64::from(k) - 1, u64::from(n));
                // The shares of the shards before this one (`load::share`).
                k * (count / n) + k.min(count % n)
            }
            _ => 0,
        };
        let per_user = request
            .connection_vars()
            .iter()
            .any(|v| v.root == "user" || v.root == "row");
        Self {
            first,
            count,
            per_user,
        }
    }

    /// Makes `st` user `u` of this shard; returns the user's own connection settings when they
    /// depend on who it is.
    pub fn enter(
        &self,
        ctx: &Ctx<'_>,
        request: &Request,
        u: u64,
        st: &mut State<'_>,
    ) -> Result<Option<Vec<ConnectSpec>>, Failure> {
        let index = self.first + u;
        st.scope.user = Some((index, self.count));
        if let Some(data) = &request.data {
            st.scope.row = Some(data.row(index));
        }
        if !self.per_user {
            return Ok(None);
        }
        header_secrets(ctx.collection, request, &st.scope, &mut st.masker);
        let mut specs = connect_specs(ctx, request, &st.scope);
        if let Err(failure) = &mut specs {
            st.masker.failure(failure);
        }
        specs.map(Some)
    }
}
