//! Lock shims: `std::sync` with the `std` feature, `spin` without it.
//!
//! The engine is written against this small surface only (`Mutex`, `RwLock` and a writer
//! hand-off), so `no_std` costs one `cfg` here instead of `#[cfg]`s everywhere. Poisoned std
//! locks are entered anyway: the engine's own invariants are protected by [`crate::Error::Poisoned`].

#[cfg(feature = "std")]
mod imp {
    pub use std::sync::{MutexGuard, RwLockReadGuard, RwLockWriteGuard};

    #[derive(Default, Debug)]
    pub struct Mutex<T>(std::sync::Mutex<T>);
    impl<T> Mutex<T> {
        pub const fn new(v: T) -> Self {
            Mutex(std::sync::Mutex::new(v))
        }
        pub fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock().unwrap_or_else(|p| p.into_inner())
        }
    }

    #[derive(Default, Debug)]
    pub struct RwLock<T>(std::sync::RwLock<T>);
    impl<T> RwLock<T> {
        pub const fn new(v: T) -> Self {
            RwLock(std::sync::RwLock::new(v))
        }
        pub fn read(&self) -> RwLockReadGuard<'_, T> {
            self.0.read().unwrap_or_else(|p| p.into_inner())
        }
        pub fn write(&self) -> RwLockWriteGuard<'_, T> {
            self.0.write().unwrap_or_else(|p| p.into_inner())
        }
    }

    /// A slot that one owner at a time may take: `take` blocks until it is filled.
    #[derive(Default)]
    pub struct HandOff<T> {
        slot: std::sync::Mutex<Option<T>>,
        cv: std::sync::Condvar,
    }
    impl<T> HandOff<T> {
        pub fn new(v: T) -> Self {
            HandOff { slot: std::sync::Mutex::new(Some(v)), cv: std::sync::Condvar::new() }
        }
        /// Waits until the value is available and takes it.
        pub fn take(&self) -> Result<T, crate::Error> {
            let mut g = self.slot.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if let Some(v) = g.take() {
                    return Ok(v);
                }
                g = self.cv.wait(g).unwrap_or_else(|p| p.into_inner());
            }
        }
        pub fn put(&self, v: T) {
            *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(v);
            self.cv.notify_one();
        }
        /// Look at the value if nobody holds it right now.
        pub fn try_peek<R>(&self, f: impl FnOnce(&T) -> R) -> Result<R, ()> {
            let g = self.slot.lock().unwrap_or_else(|p| p.into_inner());
            g.as_ref().map(f).ok_or(())
        }
    }
}

#[cfg(not(feature = "std"))]
mod imp {
    pub use spin::{MutexGuard, RwLockReadGuard, RwLockWriteGuard};

    #[derive(Default, Debug)]
    pub struct Mutex<T>(spin::Mutex<T>);
    impl<T> Mutex<T> {
        pub const fn new(v: T) -> Self {
            Mutex(spin::Mutex::new(v))
        }
        pub fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock()
        }
    }

    #[derive(Default, Debug)]
    pub struct RwLock<T>(spin::RwLock<T>);
    impl<T> RwLock<T> {
        pub const fn new(v: T) -> Self {
            RwLock(spin::RwLock::new(v))
        }
        pub fn read(&self) -> RwLockReadGuard<'_, T> {
            self.0.read()
        }
        pub fn write(&self) -> RwLockWriteGuard<'_, T> {
            self.0.write()
        }
    }

    /// Without threads to wait for, a taken slot means the caller already holds it.
    #[derive(Default)]
    pub struct HandOff<T> {
        slot: spin::Mutex<Option<T>>,
    }
    impl<T> HandOff<T> {
        pub fn new(v: T) -> Self {
            HandOff { slot: spin::Mutex::new(Some(v)) }
        }
        pub fn take(&self) -> Result<T, crate::Error> {
            self.slot.lock().take().ok_or(crate::Error::WriteTransactionInProgress)
        }
        pub fn put(&self, v: T) {
            *self.slot.lock() = Some(v);
        }
        /// Look at the value if nobody holds it right now.
        pub fn try_peek<R>(&self, f: impl FnOnce(&T) -> R) -> Result<R, ()> {
            self.slot.lock().as_ref().map(f).ok_or(())
        }
    }
}

pub use imp::*;
