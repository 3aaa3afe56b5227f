//! wasm-bindgen bindings of the Tessera engine: the core of the npm package `tessera-db`.
//!
//! The engine is built without its `std` feature (`no_std` + `alloc`): storage is reached only
//! through [`JsDevice`], a [`tessera::BlockDevice`] whose methods call a JS object (the Node
//! backend over `node:fs`, the OPFS backend over `FileSystemSyncAccessHandle`). The JS
//! layer in `npm/src/` wraps these classes in the public API.
//!
//! Conventions of this boundary (the full specification of what crosses it, byte layouts
//! included, is `docs/BINDINGS.md`):
//! - Keys and values are `Uint8Array` or `string` (UTF-8 encoded); results are `Uint8Array`.
//! - Every error is a JS `Error` with a stable `code` property: [`tessera::Error::code`] for
//!   engine errors, plus `INVALID_ARGUMENT`, `CLOSED` and `BUSY` from this layer.
//! - Nothing here panics on bad input: a panic aborts the wasm instance (and every database in
//!   it), so arguments are validated and turned into `INVALID_ARGUMENT` errors instead.
//! - Range scans return one packed buffer per batch (see [`Cursor::next_batch`]), so a scan
//!   costs one JS↔wasm call per batch, not per row.
//! - `ReadTx/WriteTx.runPacked` run a whole batch of gets, puts, deletes and ranges packed in
//!   one buffer and answer with one buffer: the browser main thread's requests to its worker.
//!
//! Modules: `errors` (JS errors with a `code`), `args` (argument decoding), `device` (the
//! JS-backed device), `kv` (the key-value API), `packed` (range rows and packed requests),
//! and `sql` (the SQL API).
//!
//! Feature `sql` (default): the SQL bindings of the `sql` module (`Database.exec/prepare`,
//! `Statement`) and the engine's SQL layer. Without it (`--no-default-features`) this is the
//! engine-only build of the package's `tessera-db/kv` flavour: key-value API only, same file
//! format.

#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
compile_error!(
    "tessera-wasm assumes wasm32 without threads: JsDevice's Send/Sync impls are only sound with one thread"
);

mod args;
mod device;
mod errors;
mod kv;
mod packed;
#[cfg(feature = "sql")]
mod sql;

pub use device::{DeviceObject, JsDevice};
pub use kv::{Cursor, Database, ReadTx, WriteTx};

// What `sql` (the SQL bindings, another module) takes from the crate root.
#[cfg(feature = "sql")]
pub(crate) use errors::{arg_err, busy_err, closed_err, engine_err, error_with_code, JsResult};
#[cfg(feature = "sql")]
pub(crate) use kv::DbState;
