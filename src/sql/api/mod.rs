//! The public API: what an application holds and calls.
//!
//! [`connection`] is [`Connection`](crate::sql::Connection), the session that prepares
//! statements ([`Prepared`](crate::sql::Prepared): parsed once, planned on first use, re-planned
//! when the schema changes; repeated texts come from its statement cache), runs them in
//! autocommit or explicit transactions, and streams
//! their rows ([`Rows`](crate::sql::Rows), [`Cursor`](crate::sql::Cursor)). Around it: [`params`]
//! binds parameters, [`row`] reads typed values out of result rows, [`serde`] maps structs to
//! parameters and rows to structs, [`transaction`] is the RAII
//! [`Transaction`](crate::sql::Transaction), `work_memory` sets the sorting budget and where
//! spills go, [`schema_info`] lists the schema with the SQL that recreates it, and
//! [`integrity`] checks the SQL layer's data against its schema.
//!
//! This stage sits on top: it drives the parser, the planner and the executor, and nothing
//! below depends on it.

pub mod connection;
pub mod integrity;
pub mod params;
pub mod row;
pub mod schema_info;
#[cfg(feature = "serde")]
pub mod serde;
mod statement_cache;
pub mod transaction;
mod work_memory;
