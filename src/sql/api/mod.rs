//! The public API.

pub mod connection;
pub mod integrity;
pub mod params;
pub mod row;
pub mod schema_info;
#[cfg(feature = "serde")]
pub mod serde;
pub mod transaction;
mod work_memory;
