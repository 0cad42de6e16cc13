//! The dead-letter guard: when too large a share of recent messages is bad, stop consuming
//! (without committing) instead of shovelling a broken producer's output into the DLQ.

use std::collections::VecDeque;

use crate::config::DeadLetterConfig;

/// Sliding window over the last messages: dead-lettered or not.
#[derive(Debug)]
pub struct DeadLetterGuard {
    window: VecDeque<bool>,
    dead: usize,
    cfg: DeadLetterConfig,
}

/// The guard tripped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tripped {
    /// Dead letters in the window.
    pub dead: usize,
    /// Messages in the window.
    pub total: usize,
}

impl DeadLetterGuard {
    /// A guard with the configured limits.
    pub fn new(cfg: DeadLetterConfig) -> Self {
        Self {
            window: VecDeque::with_capacity(cfg.window),
            dead: 0,
            cfg,
        }
    }

    /// Records one message; `Err` when the ratio passes the limit.
    pub fn record(&mut self, dead_lettered: bool) -> Result<(), Tripped> {
        if self.window.len() == self.cfg.window && self.window.pop_front() == Some(true) {
            self.dead -= 1;
        }
        self.window.push_back(dead_lettered);
        self.dead += usize::from(dead_lettered);
        let total = self.window.len();
        if total >= self.cfg.min_messages && self.dead as f64 > self.cfg.max_ratio * total as f64 {
            return Err(Tripped {
                dead: self.dead,
                total,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> DeadLetterGuard {
        DeadLetterGuard::new(DeadLetterConfig {
            max_ratio: 0.5,
            window: 10,
            min_messages: 4,
            ..DeadLetterConfig::default()
        })
    }

    #[test]
    fn waits_for_min_messages_then_trips_above_the_ratio() {
        let mut g = guard();
        for _ in 0..3 {
            assert!(g.record(true).is_ok(), "below min_messages");
        }
        assert_eq!(g.record(true), Err(Tripped { dead: 4, total: 4 }));
    }

    #[test]
    fn old_dead_letters_slide_out_of_the_window() {
        let mut g = guard();
        for i in 0..10 {
            assert!(g.record(i % 2 == 1).is_ok(), "half is allowed");
        }
        for _ in 0..100 {
            assert!(g.record(false).is_ok());
        }
        for _ in 0..5 {
            assert!(g.record(true).is_ok());
        }
        assert!(g.record(true).is_err(), "6 of 10");
    }
}
