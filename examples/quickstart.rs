//! Open a database file, write in a transaction, read from a snapshot, scan a range.
//!
//! Run with `cargo run --example quickstart -- /tmp/quickstart.db`.

use tessera::{Database, Durability};

fn main() -> Result<(), tessera::Error> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "quickstart.db".into());
    let db = Database::open(&path)?;

    // One write transaction: all or nothing; durable (one fsync) when commit returns.
    let tx = db.begin_write()?;
    {
        let mut cities = tx.open_table("cities")?;
        for (name, population) in [("Lagos", 15_388_000u64), ("Lima", 10_151_000), ("Lyon", 522_000), ("Oslo", 709_000)]
        {
            cities.insert(name.as_bytes(), &population.to_le_bytes())?;
        }
    }
    tx.commit()?;

    // A bulk change that does not need to be durable at once; made durable by `sync`.
    let mut tx = db.begin_write()?;
    tx.set_durability(Durability::None);
    tx.open_table("cities")?.insert(b"Lille", &236_000u64.to_le_bytes())?;
    tx.commit()?;
    db.sync()?;

    // Readers see a consistent snapshot and never block the writer.
    let rx = db.begin_read()?;
    let cities = rx.open_table("cities")?;
    println!("{} cities", cities.len()?);
    for entry in cities.range("L".as_bytes().."M".as_bytes())? {
        let (name, population) = entry?;
        let population = u64::from_le_bytes(population[..8].try_into().expect("8 bytes"));
        println!("{:<6} {population:>10}", String::from_utf8_lossy(&name));
    }
    let report = db.check()?;
    println!("check: {} pages verified, {} errors", report.pages_checked, report.errors.len());
    Ok(())
}
