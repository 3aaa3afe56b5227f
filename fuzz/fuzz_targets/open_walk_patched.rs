//! The input is a list of patches applied to a valid database image, with checksums
//! recomputed afterwards (so the damage gets past the checksums and reaches the parsers).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let image = tessera_fuzz::patched(tessera_fuzz::base_image(), data);
    tessera_fuzz::open_walk(&image);
});
