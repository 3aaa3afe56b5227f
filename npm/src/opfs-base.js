// OPFS backend of tessera-db, shared by its two flavours: a Tessera device over a
// `FileSystemSyncAccessHandle`, and `opfsTessera(glue)`, which makes a flavour's synchronous
// `Tessera` on it: opfs.js (full, pkg/tessera.js, plus SQL: 'tessera-db/opfs') and opfs-kv.js
// (engine only, pkg/tessera_kv.js: 'tessera-db/kv/opfs'). Sync access handles exist only in
// dedicated Workers, so these modules are for worker code: `src/worker.js` / `src/worker-kv.js`
// (what `Tessera.open` on the main thread starts) use them, and so can your own worker:
//
//   import { Tessera } from 'tessera-db/opfs';   // or 'tessera-db/kv/opfs'
//   const db = await Tessera.open('app.db');   // async only to get the handle and the lock
//   db.write((tx) => tx.put('users', 'alice', 'admin'));   // then: the synchronous API
//   db.close();                                // releases the handle and the lock
//
// Locking. Two layers, both giving the error code `LOCKED`:
//  1. A Web Lock named `tessera:<name>` (navigator.locks, shared by every tab and worker of the
//     origin), requested with `ifAvailable` so a second opener fails at once. With
//     `lockTimeout: ms` the opener waits up to that long for the holder to close instead.
//  2. `createSyncAccessHandle()` itself is exclusive: if another context holds the file (for
//     example code that does not take the Web Lock, or a just-terminated worker whose handle the
//     browser has not released yet) it throws `NoModificationAllowedError`; that becomes
//     `LOCKED` too (retried until `lockTimeout` expires).
// The lock is held until `close()`, or until the worker holding it ends (a closed or reloaded
// tab, `worker.terminate()`): the browser then releases both the Web Lock and the handle.

import { Tessera as TesseraBase } from './core.js';

function codedError(code, message) {
  const e = new Error(message);
  e.code = code;
  return e;
}

/**
 * The wasm loader of the flavour whose wasm-bindgen module is `glue`: `initWasm(wasm)` loads the
 * module once. `wasm`: optional URL/Response/bytes/WebAssembly.Module of the flavour's `.wasm`
 * (default: the glue's own, `tessera_bg.wasm` / `tessera_kv_bg.wasm` next to it, fetched).
 */
function wasmLoader(glue) {
  let initPromise = null;
  return function initWasm(wasm) {
    if (!initPromise) {
      if (wasm instanceof WebAssembly.Module || ArrayBuffer.isView(wasm) || wasm instanceof ArrayBuffer) {
        glue.initSync({ module: wasm });
        initPromise = Promise.resolve();
      } else {
        initPromise = glue.default(wasm === undefined ? undefined : { module_or_path: wasm });
        initPromise.catch(() => {
          initPromise = null;
        });
      }
    }
    return initPromise;
  };
}

/** A Tessera device (read/write/sync/len/setLen) over a `FileSystemSyncAccessHandle`. */
export class OpfsDevice {
  constructor(handle) {
    this.handle = handle;
    // Tracked here instead of getSize() per call: the sync access handle is exclusive.
    this.size = handle.getSize();
  }

  read(offset, buf) {
    if (offset + buf.length > this.size) {
      throw codedError('EOF', `read of ${buf.length} bytes at ${offset} runs past the end of the file (${this.size} bytes)`);
    }
    let done = 0;
    while (done < buf.length) {
      const n = this.handle.read(done === 0 ? buf : buf.subarray(done), { at: offset + done });
      if (n === 0) throw codedError('EOF', `unexpected end of file at ${offset + done}`);
      done += n;
    }
  }

  write(offset, data) {
    let done = 0;
    while (done < data.length) {
      const n = this.handle.write(done === 0 ? data : data.subarray(done), { at: offset + done });
      if (n === 0) throw codedError('IO', `write at ${offset + done} made no progress (quota?)`);
      done += n;
    }
    if (offset + data.length > this.size) this.size = offset + data.length;
  }

  sync() {
    this.handle.flush();
  }

  len() {
    return this.size;
  }

  setLen(n) {
    this.handle.truncate(n);
    this.size = n;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Take the Web Lock `tessera:<name>` (if the Locks API exists). Resolves to a release function,
 * or rejects with LOCKED when it is held elsewhere (after waiting up to `timeout` ms).
 */
function acquireLock(name, timeout) {
  const locks = globalThis.navigator?.locks;
  if (!locks) return Promise.resolve(() => {});
  return new Promise((resolve, reject) => {
    let release;
    const held = new Promise((r) => {
      release = r;
    });
    const options = { mode: 'exclusive' };
    let timer = null;
    if (timeout > 0) {
      const ac = new AbortController();
      options.signal = ac.signal;
      timer = setTimeout(() => ac.abort(), timeout);
    } else {
      options.ifAvailable = true;
    }
    locks
      .request(`tessera:${name}`, options, (lock) => {
        if (timer) clearTimeout(timer);
        if (!lock) {
          reject(codedError('LOCKED', `database is locked by another handle or tab: ${name} is open elsewhere (Web Lock tessera:${name} is held)`));
          return undefined;
        }
        resolve(release);
        return held; // the lock is held until release() is called (or this context ends)
      })
      .catch((e) => {
        if (timer) clearTimeout(timer);
        if (e && e.name === 'AbortError') {
          reject(codedError('LOCKED', `database is locked by another handle or tab: ${name} stayed locked for ${timeout} ms`));
        } else {
          reject(e);
        }
      });
  });
}

async function openHandle(fileHandle, name, deadline) {
  for (;;) {
    try {
      return await fileHandle.createSyncAccessHandle();
    } catch (e) {
      if (e && (e.name === 'NoModificationAllowedError' || e.name === 'InvalidStateError')) {
        if (Date.now() < deadline) {
          await sleep(20);
          continue;
        }
        throw codedError('LOCKED', `database is locked by another handle or tab: ${name} has an open sync access handle elsewhere (${e.name})`);
      }
      throw e;
    }
  }
}

/** Resolve `name` ('app.db' or 'dir/app.db') to a file handle under the OPFS root. */
async function fileHandleFor(name) {
  if (typeof name !== 'string' || name === '' || name.startsWith('/') || name.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw codedError('INVALID_ARGUMENT', `database name must be a relative path like "app.db" or "dir/app.db", got ${JSON.stringify(name)}`);
  }
  let dir = await navigator.storage.getDirectory();
  const parts = name.split('/');
  for (const p of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(p, { create: true });
  return dir.getFileHandle(parts[parts.length - 1], { create: true });
}

/**
 * The OPFS `Tessera` class of one flavour (`glue`: its wasm-bindgen module) and its `initWasm`
 * (which `Tessera.open`/`memory` call themselves): `{ Tessera, initWasm }`.
 */
export function opfsTessera(glue) {
  const initWasm = wasmLoader(glue);

  /** An open database (synchronous API; in a dedicated Worker). */
  class Tessera extends TesseraBase {
    static _glue = glue;

    /**
     * Open (creating if missing) the OPFS file `name` (a path relative to the origin's OPFS
     * root). `options`: `{ pageSize, cacheSize, maxLogSize, lockTimeout, wasm }`; `lockTimeout`
     * (ms, default 0) is how long to wait when another tab or worker has the database open before
     * failing with code `LOCKED`; `wasm` overrides where the flavour's `.wasm` is loaded from.
     * Resolves to a database with the synchronous API.
     */
    static async open(name, options = {}) {
      if (typeof FileSystemSyncAccessHandle === 'undefined' || typeof navigator === 'undefined' || !navigator.storage?.getDirectory) {
        throw codedError('UNSUPPORTED', 'OPFS sync access handles are only available in a dedicated Worker of a browser that supports them');
      }
      const { lockTimeout = 0, wasm, ...dbOptions } = options ?? {};
      if (typeof lockTimeout !== 'number' || !(lockTimeout >= 0)) {
        throw codedError('INVALID_ARGUMENT', 'lockTimeout must be a non-negative number of milliseconds');
      }
      await initWasm(wasm);
      const fileHandle = await fileHandleFor(name);
      const deadline = Date.now() + lockTimeout;
      const releaseLock = await acquireLock(name, lockTimeout);
      let handle = null;
      try {
        handle = await openHandle(fileHandle, name, deadline);
        const device = new OpfsDevice(handle);
        const db = super.openDevice(device, dbOptions);
        const h = handle;
        db._onClose = () => {
          try {
            h.close();
          } finally {
            releaseLock();
          }
        };
        db.name = name;
        return db;
      } catch (e) {
        try {
          if (handle) handle.close();
        } finally {
          releaseLock();
        }
        throw e;
      }
    }

    /** A new, empty in-memory database. */
    static async memory(options = {}) {
      await initWasm(options?.wasm);
      return super.memory(options);
    }

    /** Open a database on your own device object (after `await initWasm()`). */
    static openDevice(device, options) {
      return super.openDevice(device, options);
    }
  }

  return { Tessera, initWasm };
}
