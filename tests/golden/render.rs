//! How the golden files' expected contents are written, shared by their generator
//! (`examples/golden.rs`) and their reader (`tests/golden.rs`) so the two can never drift.

use tessera::sql::Value;

/// FNV-1a, 64 bits: the fingerprint of a value in the expected files.
pub fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| (h ^ x as u64).wrapping_mul(0x0100_0000_01b3))
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// One key-value entry: `table, key (hex), value length, FNV-1a of the value`.
pub fn kv_line(table: &str, key: &[u8], value: &[u8]) -> String {
    format!("{table}\t{}\t{}\t{:016x}\n", hex(key), value.len(), fnv(value))
}

/// One SQL value, exactly (REAL by its bits, BLOB by length and fingerprint).
pub fn render(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Integer(i) => format!("i:{i}"),
        Value::Real(r) => format!("r:{:016x}", r.to_bits()),
        Value::Text(t) => format!("t:{}", hex(t.as_bytes())),
        Value::Blob(b) => format!("b:{}:{:016x}", b.len(), fnv(b)),
    }
}
