//! What the SQL layer takes from its host: the time of day (`CURRENT_TIMESTAMP`, `DEFAULT
//! CURRENT_DATE`, …) and entropy for `random()` / `randomblob()`.
//!
//! The layer is `no_std`, so neither comes for free. With the `std` feature the clock is
//! [`std::time::SystemTime`] and the random generator is seeded once per process from the
//! OS (through `std`'s randomly keyed `RandomState`). Elsewhere (the wasm build) the host
//! installs both: [`set_clock`] with a function giving milliseconds since the Unix epoch
//! (`Date.now()`), and [`seed_random`] with bytes from `crypto.getRandomValues`. Without a
//! clock, reading the time is an error; without a seed, `random()` is a fixed sequence.

use crate::error::{Error, Result};
use alloc::string::String;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// The installed clock: a `fn() -> i64` stored as an address, 0 when none.
static CLOCK: AtomicUsize = AtomicUsize::new(0);

/// Install the clock: `now_ms` returns milliseconds since 1970-01-01 00:00:00 UTC.
pub fn set_clock(now_ms: fn() -> i64) {
    CLOCK.store(now_ms as usize, Ordering::Release);
}

/// Milliseconds since the Unix epoch, from the installed clock or (with `std`) the system's.
pub fn now_ms() -> Result<i64> {
    let f = CLOCK.load(Ordering::Acquire);
    if f != 0 {
        // SAFETY: the only non-zero values ever stored in CLOCK are `fn() -> i64` pointers
        // (`set_clock`), and a function pointer round-trips through usize unchanged.
        let f: fn() -> i64 = unsafe { core::mem::transmute::<usize, fn() -> i64>(f) };
        return Ok(f());
    }
    system_now_ms()
}

#[cfg(feature = "std")]
fn system_now_ms() -> Result<i64> {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| Error::Sql("the system clock is before 1970".into()))?;
    Ok(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(not(feature = "std"))]
fn system_now_ms() -> Result<i64> {
    Err(Error::Sql("the current time is not available: the host installs no clock (tessera::sql::set_clock)".into()))
}

/// The state of the `random()` generator (SplitMix64 over a shared counter).
static RANDOM_STATE: AtomicU64 = AtomicU64::new(0x2545_f491_4f6c_dd1d);
/// Whether the state was seeded (by the host or from the OS).
static SEEDED: AtomicBool = AtomicBool::new(false);

/// Seed `random()` and `randomblob()` (mixes `seed` into the generator's state).
pub fn seed_random(seed: u64) {
    RANDOM_STATE.fetch_xor(mix(seed), Ordering::Relaxed);
    SEEDED.store(true, Ordering::Release);
}

/// The next 64 random bits.
pub fn next_random() -> u64 {
    if !SEEDED.load(Ordering::Acquire) {
        seed_from_os();
    }
    mix(RANDOM_STATE.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed))
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(feature = "std")]
fn seed_from_os() {
    use core::hash::{BuildHasher, Hasher};
    // RandomState's keys come from the OS (getrandom and its kin) once per process.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(now_ms().unwrap_or(0) as u64);
    h.write_u32(std::process::id());
    seed_random(h.finish());
}

#[cfg(not(feature = "std"))]
fn seed_from_os() {
    // No OS here: the host seeds (the wasm bindings do at load); until then a fixed sequence.
    SEEDED.store(true, Ordering::Release);
}

/// The civil date and time of `ms` milliseconds since the Unix epoch (UTC), as SQLite
/// writes them: `YYYY-MM-DD` (`date`), `HH:MM:SS` (`time`), or both separated by a space.
/// Years outside 0..=9999 are not written correctly (nor are they by a real clock).
pub fn format_time(ms: i64, date: bool, time: bool) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + (m <= 2) as i64;
    let mut out = String::with_capacity(19);
    // Digits by hand: `format!` padding costs the wasm build more than this.
    let mut put = |v: i64, width: u32, sep: Option<char>| {
        if let Some(c) = sep {
            out.push(c);
        }
        for i in (0..width).rev() {
            out.push(char::from(b'0' + (v / 10i64.pow(i) % 10) as u8));
        }
    };
    if date {
        put(y, 4, None);
        put(m, 2, Some('-'));
        put(d, 2, Some('-'));
    }
    if time {
        put(sod / 3600, 2, date.then_some(' '));
        put(sod / 60 % 60, 2, Some(':'));
        put(sod % 60, 2, Some(':'));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_time() {
        assert_eq!(format_time(0, true, true), "1970-01-01 00:00:00");
        assert_eq!(format_time(951_782_400_000, true, false), "2000-02-29");
        assert_eq!(format_time(1_796_687_999_000, true, true), "2026-12-07 23:59:59");
        assert_eq!(format_time(-1000, true, true), "1969-12-31 23:59:59");
        assert_eq!(format_time(4_102_444_800_000 + 3_723_000, false, true), "01:02:03");
    }
}
