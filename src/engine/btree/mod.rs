//! The copy-on-write B+tree: lookup, insert, remove, cursors, over raw page bytes.
//!
//! The tree code knows nothing about caches, files or transactions. It reads pages through
//! [`PageSource`] and changes them through [`PageStore`], whose `make_mut` hands back a page
//! private to the current write transaction, copying a committed page to a new id first
//! (copy-on-write). A committed page is therefore never modified, which is what lets readers
//! hold snapshots without locks: a snapshot is just a root page id.
//!
//! Shape rules: leaves hold the entries; branches hold separators, which are the shortest
//! prefixes that split two neighbouring leaves (suffix truncation keeps branches wide).
//! A node is merged with a sibling when it falls below a quarter full and the two fit in one
//! page. Splits are by bytes, except that an insert at the end of a node leaves the old node
//! full (sequential loads fill pages completely).

mod batch;
mod cursor;
mod tree;

pub use batch::{apply_sorted, OpList};
#[cfg(feature = "sql")]
pub use cursor::Cursor;
pub use cursor::RangeState;
pub use tree::{free_tree, get, insert, remove, PageSource, PageStore, MAX_DEPTH};
