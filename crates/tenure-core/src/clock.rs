//! The clock abstraction (TIME-3). The core never reads a clock: the shell asks a [`Clock`] for
//! the instant and passes it in. The system clock lives in the engine crate; the sandbox clock
//! here is plain data that only moves when told to.

use jiff::Timestamp;
use std::sync::Mutex;

/// Where "now" comes from.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// A clock that stands still until advanced. Never moves backwards.
#[derive(Debug)]
pub struct SandboxClock(Mutex<Timestamp>);

impl SandboxClock {
    pub fn new(start: Timestamp) -> SandboxClock {
        SandboxClock(Mutex::new(start))
    }

    /// Moves the clock to `to` if that is later than now; returns the clock's instant after.
    pub fn set(&self, to: Timestamp) -> Timestamp {
        let mut now = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if to > *now {
            *now = to;
        }
        *now
    }
}

impl Clock for SandboxClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_3_sandbox_clock_moves_only_forward_when_told() {
        let t0 = Timestamp::from_second(1_700_000_000).unwrap();
        let c = SandboxClock::new(t0);
        assert_eq!(c.now(), t0);
        let t1 = Timestamp::from_second(1_700_000_600).unwrap();
        assert_eq!(c.set(t1), t1);
        assert_eq!(c.set(t0), t1, "never backwards");
        assert_eq!(c.now(), t1);
    }
}
