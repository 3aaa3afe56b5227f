//! The input is a database image: open it, walk it, check it, write to it. Everything must
//! come back as a `Result`; a panic (or a hang) is a bug.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tessera_fuzz::open_walk(data);
});
