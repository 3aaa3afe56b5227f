//! Byte layout of the file: header, commit slots, page header, log frames.
//!
//! Everything here is little-endian, fixed-offset and pointer-free, so a file written on one
//! target opens unchanged on any other (native, wasm). `docs/FORMAT.md` is the prose version
//! of this module; keep the two in step.
//!
//! ```text
//! page 0      [file header 0..64][slot A 512..640][slot B 1024..1152][mirror A 1536..][mirror B 2048..]
//! pages 1..   tree pages (branch, leaf), overflow runs, freelist pages, the log region
//! log region  512-byte sectors, each stamped: frame header sectors (`TLOG`) and frame data
//!             sectors (`TLGD`), every one with its own checksum and its frame's checksum
//! ```
//!
//! Format version 1 (no slot mirrors, frames sealed by one checksum over the whole frame) is
//! still read: [`legacy`] parses its frames, and opening such a file read-write upgrades it.

mod common;
mod header;
mod log;
mod page;
#[cfg(test)]
mod tests;

pub use common::*;
pub use header::*;
pub use log::*;
pub use page::*;
