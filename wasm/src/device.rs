//! The JS-backed device: a [`tessera::BlockDevice`] whose methods call a JS object (the Node
//! backend over `node:fs`, the OPFS backend over `FileSystemSyncAccessHandle`). The contract the
//! JS object must keep is in `docs/BINDINGS.md`, "The device".

use crate::args::uint_value;
use js_sys::Reflect;
use tessera as t;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen(typescript_custom_section)]
const DEVICE_TS: &'static str = r#"
/** What `Database.openDevice` needs: a flat, growable byte store (see the BlockDevice contract). */
export interface TesseraDevice {
  /** Fill all of `buf` from `offset`; throw if that runs past the end. */
  read(offset: number, buf: Uint8Array): void;
  /** Store `data` at `offset`, growing the device (zero-filling any gap). */
  write(offset: number, data: Uint8Array): void;
  /** Durability barrier: completed writes and the length survive a crash once it returns. */
  sync(): void;
  /** Current length in bytes. */
  len(): number;
  /** Truncate or zero-extend to `len` bytes. */
  setLen(len: number): void;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// A JS object implementing the device methods (`TesseraDevice` in TypeScript).
    #[wasm_bindgen(typescript_type = "TesseraDevice")]
    pub type DeviceObject;

    #[wasm_bindgen(method, catch)]
    fn read(this: &DeviceObject, offset: f64, buf: &mut [u8]) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    fn write(this: &DeviceObject, offset: f64, data: &[u8]) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    fn sync(this: &DeviceObject) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    fn len(this: &DeviceObject) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = setLen)]
    fn set_len(this: &DeviceObject, len: f64) -> Result<(), JsValue>;
}

/// The JS device object, made `Send + Sync` for [`tessera::BlockDevice`].
struct SendJs(DeviceObject);

// SAFETY: `BlockDevice` requires Send + Sync because native builds share a database across
// threads. This crate is only built for wasm32 without the `atomics` target feature (the
// `compile_error!` at the top enforces it), where there is exactly one thread: the JsValue can
// never be sent to, or touched from, another thread, so no data race is possible.
unsafe impl Send for SendJs {}
// SAFETY: as above: with one thread there is no concurrent access.
unsafe impl Sync for SendJs {}

/// A [`tessera::BlockDevice`] over a JS object (see `TesseraDevice`). Offsets cross as `f64`
/// numbers: exact up to 2^53 bytes, so files over 2 GiB (and 4 GiB) work.
pub struct JsDevice {
    obj: SendJs,
}

impl JsDevice {
    /// Wrap a JS object implementing the device methods.
    pub fn new(obj: DeviceObject) -> JsDevice {
        JsDevice { obj: SendJs(obj) }
    }
}

/// A JS exception thrown by a device method, as a [`tessera::Error::Io`].
fn io_err(op: &'static str, offset: u64, e: JsValue) -> t::Error {
    let message = if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        let msg: String = err.message().into();
        // Node's fs errors carry a `code` such as `ENOSPC`; keep it in the message.
        match Reflect::get(err, &JsValue::from_str("code")).ok().and_then(|c| c.as_string()) {
            Some(code) if !msg.contains(&code) => format!("{code}: {msg}"),
            _ => msg,
        }
    } else if let Some(s) = e.as_string() {
        s
    } else {
        format!("{e:?}")
    };
    t::Error::Io { op, offset, message }
}

fn f64_of(offset: u64) -> f64 {
    // Exact for every offset below 2^53 (8 PiB).
    offset as f64
}

impl t::BlockDevice for JsDevice {
    fn read(&self, offset: u64, buf: &mut [u8]) -> t::Result<()> {
        self.obj.0.read(f64_of(offset), buf).map_err(|e| io_err("read", offset, e))
    }
    fn write(&self, offset: u64, data: &[u8]) -> t::Result<()> {
        self.obj.0.write(f64_of(offset), data).map_err(|e| io_err("write", offset, e))
    }
    fn sync(&self) -> t::Result<()> {
        self.obj.0.sync().map_err(|e| io_err("sync", 0, e))
    }
    fn len(&self) -> t::Result<u64> {
        let v = self.obj.0.len().map_err(|e| io_err("len", 0, e))?;
        uint_value(&v, "device len()").map_err(|_| t::Error::Io {
            op: "len",
            offset: 0,
            message: "device len() did not return a non-negative integer".into(),
        })
    }
    fn set_len(&self, len: u64) -> t::Result<()> {
        self.obj.0.set_len(f64_of(len)).map_err(|e| io_err("set_len", len, e))
    }
}
