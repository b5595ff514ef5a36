//! Answers kept until the tables they were read from change. Aggregates over a large table
//! (the opportunity board's stage totals, the funnel) cost a scan of every row in scope, yet
//! their tables change far less often than people look at them.
//!
//! The writer counts, per table, the commits that changed it (`changed`, after each commit,
//! from SQLite's update hook). A reader takes that count *before* it reads, so an answer is
//! filed under a count no newer than its data: a write committed meanwhile raises the count
//! and the next reader computes afresh.

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// Answers kept at most; past it the memo starts over (a scope, filter or pipeline each makes
/// its own key, and none is worth more memory than this).
const MOST_ANSWERS: usize = 512;

type Kept = (u64, Arc<dyn Any + Send + Sync>);

#[derive(Default)]
pub struct Memo {
    commits: Mutex<HashMap<String, u64>>,
    answers: Mutex<HashMap<String, Kept>>,
}

impl Memo {
    /// Counts one more commit for each of `tables` (called once the commit is durable).
    pub fn changed(&self, tables: &mut HashSet<String>) {
        let mut commits = lock(&self.commits);
        for table in tables.drain() {
            *commits.entry(table).or_default() += 1;
        }
    }

    /// A number that grows whenever any of `tables` changes.
    fn generation(&self, tables: &[&str]) -> u64 {
        let commits = lock(&self.commits);
        tables.iter().filter_map(|t| commits.get(*t)).sum()
    }

    /// The answer kept under `key` if none of `tables` changed since it was computed; else
    /// `compute`'s, kept for next time.
    pub fn answer<T, E>(
        &self,
        tables: &[&str],
        key: String,
        compute: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E>
    where
        T: Clone + Send + Sync + 'static,
    {
        let generation = self.generation(tables);
        let kept = lock(&self.answers).get(&key).cloned();
        if let Some((when, answer)) = kept {
            if let (true, Some(answer)) = (when == generation, answer.downcast_ref::<T>()) {
                return Ok(answer.clone());
            }
        }
        let answer = compute()?;
        let mut answers = lock(&self.answers);
        if answers.len() >= MOST_ANSWERS {
            answers.clear();
        }
        answers.insert(key, (generation, Arc::new(answer.clone())));
        Ok(answer)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    #[test]
    fn an_answer_lasts_until_one_of_its_tables_changes() {
        let memo = Memo::default();
        let mut computed = 0;
        let mut ask = |memo: &Memo| {
            memo.answer(&["a", "b"], "k".into(), || {
                computed += 1;
                Ok::<_, Infallible>(computed)
            })
            .unwrap()
        };
        assert_eq!(ask(&memo), 1);
        assert_eq!(ask(&memo), 1);
        memo.changed(&mut HashSet::from(["c".to_string()]));
        assert_eq!(ask(&memo), 1);
        memo.changed(&mut HashSet::from(["b".to_string()]));
        assert_eq!(ask(&memo), 2);
        assert_eq!(ask(&memo), 2);
    }
}
