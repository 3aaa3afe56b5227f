//! The input is SQL text: statements run on a small seeded database, parsed, planned and
//! executed. Everything must come back as a `Result`; a panic (or a hang) is a bug.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tessera_fuzz::sql_statements(data);
});
