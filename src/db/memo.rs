//! Answers kept until the tables they were read from change. Aggregates over a large table
//! (the opportunity board's stage totals, the funnel) cost a scan of every row in scope, yet
//! their tables change far less often than people look at them.
//!
//! The writer counts, per table, the commits that changed it (`changed`, after each commit,
//! from SQLite's update hook). A reader takes that count *before* it reads, so an answer is
//! filed under a count no newer than its data: a write committed meanwhile raises the count
//! and the next reader computes afresh. A commit of another process (`kehu import` beside the
//! server) is noticed by the writer within a second and makes every answer stale.
//!
//! Whoever must act when a table changes, rather than answer a question about it, `watch`es
//! it: a live stream of notifications sleeps until a commit touches `notifications`.

use super::locked;
use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// Answers kept at most; past it the memo starts over (a scope, filter or pipeline each makes
/// its own key, so does each signed-in session, and none is worth more memory than this).
const MOST_ANSWERS: usize = 4096;

type Kept = (u64, Arc<dyn Any + Send + Sync>);

/// The name counted for commits of other processes (no table is named so).
const OUTSIDE: &str = "*";

#[derive(Default)]
pub struct Memo {
    commits: Mutex<HashMap<String, u64>>,
    answers: Mutex<HashMap<String, Kept>>,
    /// One lock per key being computed, so that sixteen people opening the board at once
    /// compute it once (and hold one set of temporary sort trees, not sixteen).
    computing: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    /// The tables someone waits on, each with the count of commits that changed it.
    watched: Mutex<HashMap<String, watch::Sender<u64>>>,
}

impl Memo {
    /// Counts one more commit for each of `tables` (called once the commit is durable).
    pub fn changed(&self, tables: &mut HashSet<String>) {
        let mut commits = locked(&self.commits);
        let watched = locked(&self.watched);
        for table in tables.drain() {
            if let Some(watcher) = watched.get(&table) {
                watcher.send_modify(|count| *count += 1);
            }
            *commits.entry(table).or_default() += 1;
        }
    }

    /// Counts a commit that may have changed any table: one made by another process, whose
    /// tables the server cannot know.
    pub fn changed_outside(&self) {
        *locked(&self.commits).entry(OUTSIDE.into()).or_default() += 1;
        for watcher in locked(&self.watched).values() {
            watcher.send_modify(|count| *count += 1);
        }
    }

    /// A receiver that sees a change after every commit that touched `table` (or may have:
    /// another process's).
    pub fn watch(&self, table: &str) -> watch::Receiver<u64> {
        locked(&self.watched)
            .entry(table.to_string())
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    /// A number that grows whenever any of `tables` changes.
    fn generation(&self, tables: &[&str]) -> u64 {
        let commits = locked(&self.commits);
        tables
            .iter()
            .chain(&[OUTSIDE])
            .filter_map(|t| commits.get(*t))
            .sum()
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
        if let Some(answer) = self.kept(&key, generation) {
            return Ok(answer);
        }
        let turn = {
            let mut computing = locked(&self.computing);
            if computing.len() >= MOST_ANSWERS {
                computing.clear();
            }
            computing.entry(key.clone()).or_default().clone()
        };
        let _turn = locked(&turn);
        // Whoever held the turn before may have just computed it.
        if let Some(answer) = self.kept(&key, generation) {
            return Ok(answer);
        }
        let answer = compute()?;
        self.keep(key, generation, answer.clone());
        Ok(answer)
    }

    /// For an answer read asynchronously: the one kept under `key` if none of `tables` changed
    /// since, else the generation to `keep` the fresh answer under, taken now, before it is
    /// read (as `answer` does).
    pub fn kept_or_generation<T: Clone + 'static>(
        &self,
        tables: &[&str],
        key: &str,
    ) -> Result<T, u64> {
        let generation = self.generation(tables);
        self.kept(key, generation).ok_or(generation)
    }

    /// Keeps `answer` under `key`, read at `generation`.
    pub fn keep<T: Send + Sync + 'static>(&self, key: String, generation: u64, answer: T) {
        let mut answers = locked(&self.answers);
        if answers.len() >= MOST_ANSWERS {
            answers.clear();
        }
        answers.insert(key, (generation, Arc::new(answer)));
    }

    /// The answer kept under `key` for `generation`, if any.
    fn kept<T: Clone + 'static>(&self, key: &str, generation: u64) -> Option<T> {
        let (when, answer) = locked(&self.answers).get(key).cloned()?;
        (when == generation).then(|| answer.downcast_ref::<T>().cloned())?
    }
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
        memo.changed_outside();
        assert_eq!(ask(&memo), 3);
    }

    #[test]
    fn a_watcher_wakes_for_its_table_and_for_outside_commits() {
        let memo = Memo::default();
        let mut watcher = memo.watch("n");
        memo.changed(&mut HashSet::from(["other".to_string()]));
        assert!(!watcher.has_changed().unwrap());
        memo.changed(&mut HashSet::from(["n".to_string(), "other".to_string()]));
        assert!(watcher.has_changed().unwrap());
        watcher.mark_unchanged();
        memo.changed_outside();
        assert!(watcher.has_changed().unwrap());
    }

    #[test]
    fn people_asking_at_once_wait_for_one_computation() {
        let memo = Arc::new(Memo::default());
        let computed = Arc::new(Mutex::new(0));
        let askers: Vec<_> = (0..8)
            .map(|_| {
                let (memo, computed) = (memo.clone(), computed.clone());
                std::thread::spawn(move || {
                    memo.answer(&["a"], "k".into(), || {
                        std::thread::sleep(std::time::Duration::from_millis(50));
                        *locked(&computed) += 1;
                        Ok::<_, Infallible>(7)
                    })
                    .unwrap()
                })
            })
            .collect();
        for asker in askers {
            assert_eq!(asker.join().unwrap(), 7);
        }
        assert_eq!(*locked(&computed), 1);
    }
}
