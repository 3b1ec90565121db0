use tenure_core::Timestamp;
use tenure_core::clock::Clock;

/// The real clock. The only place the engine reads the system time for billing instants.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// Wall-clock microseconds, for scheduler leases only (never for billing instants).
pub(crate) fn wall_now_us() -> i64 {
    Timestamp::now().as_microsecond()
}
