//! The connection's work-memory settings: the budget of sorting and grouping operators and
//! where they spill (see the execution stage's `spill`).

use alloc::boxed::Box;
use alloc::sync::Arc;

use crate::device::BlockDevice;
use crate::error::Result;
use crate::sql::api::connection::Connection;
use crate::sql::exec::spill::SpillStats;

impl Connection {
    /// Set the memory budget for the rows one sorting or grouping operator of a query may
    /// hold (default 64 MiB; at least 16 KiB). Past it the operator spills sorted runs to a
    /// temporary database and merges them. Statements prepared earlier use the new budget on
    /// their next run.
    pub fn set_work_memory(&mut self, bytes: usize) {
        self.work.set_budget(bytes);
    }

    /// The work-memory budget in bytes.
    pub fn work_memory(&self) -> usize {
        self.work.budget()
    }

    /// Put temporary databases in files under `dir` (`None`: the system temp directory).
    #[cfg(feature = "std")]
    pub fn set_temp_dir(&mut self, dir: Option<std::path::PathBuf>) {
        self.work.set_temp_dir(dir);
    }

    /// Put temporary databases on devices made by `make` (for example in-memory devices, or
    /// a fault-injecting device in tests).
    pub fn set_temp_device(&mut self, make: impl Fn() -> Result<Box<dyn BlockDevice>> + Send + Sync + 'static) {
        self.work.set_temp_device(Arc::new(make));
    }

    /// What the connection's queries spilled since it was opened or the counters reset.
    pub fn spill_stats(&self) -> SpillStats {
        self.work.stats()
    }

    /// Reset the spill counters to zero.
    pub fn reset_spill_stats(&mut self) {
        self.work.reset_stats();
    }
}
