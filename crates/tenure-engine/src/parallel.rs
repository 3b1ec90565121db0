//! Work spread over accounts: on PostgreSQL each account's share of a batch is its own
//! transaction (one account per transaction), and different accounts proceed in parallel.

use crate::error::EngineError;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `each` once for every group on up to `workers_max` threads, each thread taking the next
/// group not yet taken. Returns the results in group order, or the first error once every group
/// has been tried (a failed group does not stop the others: their transactions are their own).
pub(crate) fn per_group<G: Sync, T: Send>(
    groups: &[G],
    workers_max: usize,
    each: impl Fn(&G) -> Result<T, EngineError> + Sync,
) -> Result<Vec<T>, EngineError> {
    let results: Mutex<Vec<(usize, T)>> = Mutex::new(Vec::with_capacity(groups.len()));
    let failure: Mutex<Option<EngineError>> = Mutex::new(None);
    let next = AtomicUsize::new(0);
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(group) = groups.get(i) else { break };
            match each(group) {
                Ok(t) => lock(&results).push((i, t)),
                Err(e) => {
                    lock(&failure).get_or_insert(e);
                }
            }
        }
    };
    let workers = workers_max.min(groups.len());
    if workers <= 1 {
        work();
    } else {
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(work);
            }
        });
    }
    if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_by_key(|(i, _)| *i);
    Ok(results.into_iter().map(|(_, t)| t).collect())
}

/// Locks a mutex, taking the data even if another thread panicked while holding it.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_group_runs_once_and_results_keep_group_order() {
        let groups: Vec<u32> = (0..100).collect();
        let ran = AtomicUsize::new(0);
        let out = per_group(&groups, 8, |g| {
            ran.fetch_add(1, Ordering::Relaxed);
            Ok(g * 2)
        })
        .unwrap();
        assert_eq!(ran.into_inner(), 100);
        assert_eq!(out, (0..100).map(|g| g * 2).collect::<Vec<_>>());
    }

    #[test]
    fn an_error_is_returned_after_the_other_groups_ran() {
        let groups: Vec<u32> = (0..10).collect();
        let ran = AtomicUsize::new(0);
        let out = per_group(&groups, 3, |g| {
            ran.fetch_add(1, Ordering::Relaxed);
            if *g == 4 {
                Err(EngineError::Corrupt("boom".into()))
            } else {
                Ok(())
            }
        });
        assert!(matches!(out, Err(EngineError::Corrupt(_))));
        assert_eq!(ran.into_inner(), 10);
    }
}
