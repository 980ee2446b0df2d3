//! A bound on what one answer holds: every list a resolver returns spends its length
//! from the request's budget (`MAX_RESULT_OBJECTS`), and the list that would overdraw it
//! fails with QUERY_TOO_COMPLEX. The cost estimate refuses most heavy queries before they
//! run; this holds whatever the lists really contain. One atomic subtraction per list.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use async_graphql::{Context, ErrorExtensions, Result};

use crate::error::Code;

/// What a list without a page size counts for in the cost estimate (`MAX_QUERY_COMPLEXITY`):
/// its selection, ten times.
pub const LIST: usize = 10;

/// What a list with a page size (`first`, `last`) counts for: its selection, that many
/// times (out-of-range sizes are refused when the field runs; here they count as 1 to
/// `max`).
pub fn paged(size: i32, max: i32) -> usize {
    usize::try_from(size.clamp(1, max)).unwrap_or(1)
}

/// What is left of one request's budget (in its request data). Clones share it: the
/// operations of one HTTP batch spend from one budget.
#[derive(Clone)]
pub struct ResultBudget {
    left: Arc<AtomicU64>,
    limit: u64,
}

impl ResultBudget {
    pub fn new(limit: u64) -> Self {
        Self {
            left: Arc::new(AtomicU64::new(limit)),
            limit,
        }
    }

    /// Takes `n` objects from the budget; false (and nothing taken) when fewer are left.
    pub fn spend(&self, n: u64) -> bool {
        self.left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(n)
            })
            .is_ok()
    }
}

/// `items`, once their number is taken from the request's budget.
pub fn listed<T>(ctx: &Context<'_>, items: Vec<T>) -> Result<Vec<T>> {
    let Some(budget) = ctx.data_opt::<ResultBudget>() else {
        return Ok(items);
    };
    if budget.spend(items.len() as u64) {
        return Ok(items);
    }
    Err(async_graphql::Error::new(format!(
        "the answer would hold more than {} objects (MAX_RESULT_OBJECTS); ask for fewer",
        budget.limit
    ))
    .extend_with(|_, e| e.set("code", Code::QueryTooComplex.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spending_stops_at_the_limit_and_takes_nothing_when_refused() {
        let budget = ResultBudget::new(10);
        assert!(budget.spend(6));
        assert!(!budget.spend(5), "6 + 5 > 10");
        assert!(budget.spend(4), "the refused 5 were not taken");
        assert!(!budget.spend(1));
    }
}
