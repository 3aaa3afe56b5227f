// Node.js part of tessera-db shared by its two flavours: the engine (wasm) over a real file
// through `node:fs`. `nodeTessera(glue, wasmUrl)` makes the `Tessera` class of one flavour:
// node.js (full: pkg/tessera.js, plus SQL) and node-kv.js (engine only: pkg/tessera_kv.js).
//
//   import { Tessera } from 'tessera-db';      // or 'tessera-db/kv'
//   const db = Tessera.open('app.db');          // synchronous; created if missing
//   db.write((tx) => tx.put('users', 'alice', 'admin'));
//   db.read((rx) => rx.getString('users', 'alice')); // 'admin'
//   db.close();
//
// Locking. Node has no flock()/fcntl() locks, so a file can only be guarded inside this
// process: a second `Tessera.open` of the same file (same device and inode, whatever path
// or symlink reaches it) while the first is open fails with code `LOCKED`. The registry lives on
// `globalThis`, so it also covers several copies of this package loaded in one process. It does
// NOT keep out another process (another Node process, or the native `tessera` tool, whose
// flock Node cannot see or take): never open one database file from two processes at once.

import fs from 'node:fs';
import { Tessera as TesseraBase } from './core.js';

const LOCKS_KEY = Symbol.for('tessera-db.node.open-files');
const openFiles = (globalThis[LOCKS_KEY] ??= new Set());

function codedError(code, message) {
  const e = new Error(message);
  e.code = code;
  return e;
}

/** A Tessera device (read/write/sync/len/setLen) over an open file descriptor. */
export class NodeFileDevice {
  constructor(fd) {
    this.fd = fd;
    // The length is tracked here instead of calling fstat on every len(): this process holds
    // the file exclusively (see the locking note above), so only our writes change it.
    this.size = fs.fstatSync(fd).size;
  }

  read(offset, buf) {
    const end = offset + buf.length;
    if (end > this.size) {
      throw codedError('EOF', `read of ${buf.length} bytes at ${offset} runs past the end of the file (${this.size} bytes)`);
    }
    let done = 0;
    while (done < buf.length) {
      const n = fs.readSync(this.fd, buf, done, buf.length - done, offset + done);
      if (n === 0) throw codedError('EOF', `unexpected end of file at ${offset + done}`);
      done += n;
    }
  }

  write(offset, data) {
    let done = 0;
    while (done < data.length) {
      done += fs.writeSync(this.fd, data, done, data.length - done, offset + done);
    }
    if (offset + data.length > this.size) this.size = offset + data.length;
  }

  sync() {
    // fdatasync also flushes the file size (metadata needed to read the data back).
    fs.fdatasyncSync(this.fd);
  }

  len() {
    return this.size;
  }

  setLen(n) {
    fs.ftruncateSync(this.fd, n);
    this.size = n;
  }
}

/**
 * The `Tessera` class of one flavour: `glue` is its wasm-bindgen module (`initSync`,
 * `Database`), `wasmUrl` the file URL of its `.wasm` (read when a database is first opened).
 * Both flavours share the registry of open files, so one file is never open in both at once.
 */
export function nodeTessera(glue, wasmUrl) {
  let initialised = false;
  function init() {
    if (initialised) return;
    glue.initSync({ module: fs.readFileSync(wasmUrl) });
    initialised = true;
  }

  /** An open database (synchronous API). */
  return class Tessera extends TesseraBase {
    static _glue = glue;

    /**
     * Open the database file at `path`, creating it if missing. `options`: `{ pageSize,
     * cacheSize, maxLogSize }`. Throws code `LOCKED` if this process already has it open.
     */
    static open(path, options) {
      init();
      const { O_RDWR, O_CREAT } = fs.constants;
      const fd = fs.openSync(path, O_RDWR | O_CREAT, 0o644);
      let id;
      try {
        const st = fs.fstatSync(fd, { bigint: true });
        id = `${st.dev}:${st.ino}`;
        if (openFiles.has(id)) {
          throw codedError('LOCKED', `database is locked by another handle or process: ${path} is already open in this process`);
        }
      } catch (e) {
        fs.closeSync(fd);
        throw e;
      }
      openFiles.add(id);
      const release = () => {
        openFiles.delete(id);
        fs.closeSync(fd);
      };
      try {
        const device = new NodeFileDevice(fd);
        const db = super.openDevice(device, options);
        db._onClose = release;
        return db;
      } catch (e) {
        release();
        throw e;
      }
    }

    /** A new, empty in-memory database. `options`: `{ safeIntegers }`. */
    static memory(options) {
      init();
      return super.memory(options);
    }

    /** Open a database on your own device object (read/write/sync/len/setLen). */
    static openDevice(device, options) {
      init();
      return super.openDevice(device, options);
    }
  };
}
