//! Writes the seed corpus for `cargo fuzz run open_walk`:
//! `cargo run --manifest-path fuzz/Cargo.toml --example write_seed`.

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/open_walk");
    std::fs::create_dir_all(&dir).expect("create corpus dir");
    std::fs::write(dir.join("base.db"), tessera_fuzz::base_image()).expect("write seed");
    println!("wrote {}", dir.join("base.db").display());
}
