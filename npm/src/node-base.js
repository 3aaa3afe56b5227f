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
// Locking. Node has no flock()/fcntl() locks, so every opener of a database file, native or
// Node, process or worker thread, follows one protocol made of file names in a directory
// beside the file (src/device/lock.rs is the native side; docs/ARCHITECTURE.md, "Locking a
// database file", has the argument and the limits). For the file F (its real path), each
// holder has an entry `F-lock/<mode>.<pid>.<start>.<nonce>`: mode `w` (read-write) or `r`
// (read-only), the process id, the process's start identity (Linux: boot id and start time, so
// a reused pid is not mistaken for a dead holder; elsewhere `0`) and a random nonce. To
// acquire: create the directory, create our entry (exclusively), list the directory; delete
// entries of dead processes; if a live entry conflicts (either side `w`), delete ours, back
// off a few random milliseconds and retry until `timeout`; else the lock is held. A second
// open (by any name of the file) in this process, a worker thread, another Node process or a
// native process (the `tessera` tool) throws code `LOCKED`.

import fs from 'node:fs';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { Tessera as TesseraBase } from './core.js';

// The in-process fast path (this thread's open files by device and inode, so a hard link is
// caught too); the lock directory is what keeps out other threads and processes.
const LOCKS_KEY = Symbol.for('tessera-db.node.open-files.v2');
const openFiles = (globalThis[LOCKS_KEY] ??= new Map());

function codedError(code, message) {
  const e = new Error(message);
  e.code = code;
  return e;
}

/**
 * A Tessera device (read/write/sync/len/setLen) over an open file descriptor. With
 * `{ readOnly: true }`, write/sync/setLen throw.
 */
export class NodeFileDevice {
  constructor(fd, options) {
    this.fd = fd;
    this.readOnly = Boolean(options?.readOnly);
    // The length is tracked here instead of calling fstat on every len(): a read-write open
    // holds the file exclusively (see the locking note above), so only our writes change it.
    this.size = fs.fstatSync(fd).size;
  }

  _refuse(op) {
    if (this.readOnly) throw codedError('EROFS', `${op}: the database file is open read-only`);
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
    this._refuse('write');
    let done = 0;
    while (done < data.length) {
      done += fs.writeSync(this.fd, data, done, data.length - done, offset + done);
    }
    if (offset + data.length > this.size) this.size = offset + data.length;
  }

  sync() {
    this._refuse('sync');
    // fdatasync also flushes the file size (metadata needed to read the data back).
    fs.fdatasyncSync(this.fd);
  }

  len() {
    return this.size;
  }

  setLen(n) {
    this._refuse('setLen');
    fs.ftruncateSync(this.fd, n);
    this.size = n;
  }
}

// ---------------------------------------------------------------------------------------------
// The lock protocol (see the note at the top; the same as src/device/lock.rs)

const ENTRY = /^([wr])\.([1-9][0-9]{0,9})\.(0|[0-9a-fA-F]{8}-[0-9]{1,20})\.([0-9a-fA-F]{16})$/;
const isLinux = process.platform === 'linux';

function readOr(path, fallback) {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** Field 22 of /proc/PID/stat (start time in clock ticks), or the fs error. */
function procStartTime(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Field 2 (the command) is in parentheses and may hold anything: fields 3.. follow the last ')'.
  const ticks = stat.slice(stat.lastIndexOf(')') + 1).trim().split(/\s+/)[22 - 3];
  if (!/^[0-9]+$/.test(ticks ?? '')) throw codedError('EINVAL', `short /proc/${pid}/stat`);
  return ticks;
}

let identity = null;
/** This process: pid, boot id (8 hex digits, Linux) and start identity. */
function me() {
  if (identity) return identity;
  let boot = null;
  let start = '0';
  if (isLinux) {
    const id = readOr('/proc/sys/kernel/random/boot_id', '').slice(0, 8).toLowerCase();
    if (/^[0-9a-f]{8}$/.test(id)) boot = id;
    try {
      if (boot) start = `${boot}-${procStartTime(process.pid)}`;
    } catch {
      start = '0';
    }
  }
  return (identity = { pid: process.pid, boot, start });
}

/** Whether `process.kill(pid, 0)` finds the process (EPERM: it exists, not ours to signal). */
function processExists(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code !== 'ESRCH';
  }
}

/** Whether the process that made an entry may still be running (when in doubt: yes). */
function alive(pid, start) {
  const self = me();
  if (pid === self.pid) {
    // This process (another handle, or a worker thread) unless both start identities are
    // known and differ: an earlier process that had our pid.
    return start === '0' || self.start === '0' || start === self.start;
  }
  if (start !== '0' && isLinux) {
    const [boot, ticks] = start.split('-');
    if (self.boot && self.boot !== boot.toLowerCase()) return false; // before the last reboot
    try {
      return procStartTime(pid) === ticks;
    } catch (e) {
      if (e.code !== 'ENOENT') return true;
      // Not in /proc (or hidden by hidepid): ask kill().
    }
  }
  return processExists(pid);
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleep(ms) {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** The wait before attempt `attempt + 1`: random, growing from 1–4 ms to 1–50 ms. */
function backoff(attempt) {
  const cap = Math.min(4 + 8 * attempt, 50);
  return 1 + Math.random() * (cap - 1);
}

const notWritable = (e) => e.code === 'EACCES' || e.code === 'EPERM' || e.code === 'EROFS';

/** The line an entry holds, for people looking at the directory. */
function diagnostics(readonly) {
  const mode = readonly ? 'read-only' : 'read-write';
  return `pid ${process.pid} host ${os.hostname()} program ${process.argv[1] ?? process.execPath} (node ${process.version}) ${mode} since ${new Date().toISOString()}\n`;
}

/** Steps 1 and 2: the directory and our entry in it; null: a read-only open that may not write here. */
function register(dir, readonly) {
  for (let lostDir = 0; ; lostDir++) {
    try {
      fs.mkdirSync(dir);
    } catch (e) {
      if (e.code !== 'EEXIST') {
        if (readonly && notWritable(e)) return null;
        throw lockError(dir, 'cannot create the lock directory', e);
      }
    }
    const self = me();
    const entry = `${dir}/${readonly ? 'r' : 'w'}.${self.pid}.${self.start}.${randomBytes(8).toString('hex')}`;
    let fd;
    try {
      fd = fs.openSync(entry, 'wx');
    } catch (e) {
      if (e.code === 'ENOENT' && lostDir < 1000) continue; // removed by a releaser: start over
      if (readonly && notWritable(e)) return null;
      throw lockError(dir, 'cannot create a lock entry', e);
    }
    try {
      fs.writeSync(fd, diagnostics(readonly));
    } catch {
      // Only for people.
    } finally {
      fs.closeSync(fd);
    }
    return entry;
  }
}

function lockError(dir, what, e) {
  return codedError('IO', `${dir}: ${what}: ${e.message}`);
}

/**
 * Step 3: the live entries that conflict with us (`{ name, pid, mode }`), deleting dead ones;
 * null if our own entry is gone (the directory was removed under us).
 */
function conflicts(dir, readonly, ours) {
  const ourName = ours && ours.slice(dir.length + 1);
  let names;
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    if (e.code === 'ENOENT') return ours ? null : [];
    throw lockError(dir, 'cannot list the lock directory', e);
  }
  if (ours && !names.includes(ourName)) return null;
  const live = [];
  for (const name of names) {
    if (name === ourName) continue;
    const m = ENTRY.exec(name);
    if (!m) continue;
    const mode = m[1];
    if (readonly && mode === 'r') continue; // readers share
    const pid = Number(m[2]);
    if (pid > 0x7fffffff) continue; // not a pid (src/device/lock.rs ignores it too)
    if (alive(pid, m[3])) {
      live.push({ name, pid, mode });
    } else {
      // Names are unique: this can only delete that dead holder's entry.
      try {
        fs.unlinkSync(`${dir}/${name}`);
      } catch {
        // ENOENT: another opener was first; EACCES: a read-only directory.
      }
    }
  }
  return live;
}

/**
 * Take the lock of the database file at `realPath` (`readonly`: shared with other read-only
 * openers), waiting up to `timeout` ms. Returns the release function; throws LOCKED. `shown`
 * is the path as the caller gave it, for the message.
 */
export function acquireFileLock(realPath, { readonly = false, timeout = 0, shown = realPath } = {}) {
  const dir = `${realPath}-lock`;
  const deadline = Date.now() + timeout;
  // A conflict is only final once seen on two attempts in a row (an opener that is itself
  // backing off has a new entry name each time); past `giveUp`, give up regardless.
  const giveUp = deadline + 1000;
  let seen = new Set();
  for (let attempt = 0; ; attempt++) {
    const entry = register(dir, readonly);
    let live;
    try {
      live = conflicts(dir, readonly, entry);
    } catch (e) {
      if (entry) fs.rmSync(entry, { force: true });
      throw e;
    }
    if (live === null) {
      // Our entry vanished with the directory: start over (within reason).
      if (Date.now() >= giveUp) throw codedError('LOCKED', `database is locked: ${shown}: its lock entry keeps disappearing (${dir})`);
      continue;
    }
    if (live.length === 0) {
      let released = false;
      return () => {
        if (released || !entry) return;
        released = true;
        fs.rmSync(entry, { force: true });
        try {
          fs.rmdirSync(dir);
        } catch {
          // ENOTEMPTY: other holders; ENOENT: another releaser was first.
        }
      };
    }
    if (entry) {
      fs.rmSync(entry, { force: true });
      try {
        fs.rmdirSync(dir);
      } catch {
        // Not empty: the holder is there.
      }
    }
    const now = Date.now();
    const persistent = live.some((l) => seen.has(l.name));
    if (now >= giveUp || (now >= deadline && persistent)) {
      const h = live[0];
      const where = h.pid === process.pid ? ' (this process: another handle or a worker thread)' : '';
      const waited = timeout > 0 ? ` after waiting ${timeout} ms` : '';
      throw codedError(
        'LOCKED',
        `database is locked by another handle or process: ${shown} is open ${h.mode === 'w' ? 'read-write' : 'read-only'} in pid ${h.pid}${where}${waited} (lock entry ${dir}/${h.name})`,
      );
    }
    seen = new Set(live.map((l) => l.name));
    const pause = backoff(attempt);
    sleep(now < deadline ? Math.min(pause, deadline - now + 1) : pause);
  }
}

/**
 * The `Tessera` class of one flavour: `glue` is its wasm-bindgen module (`initSync`,
 * `Database`), `wasmUrl` the file URL of its `.wasm` (read when a database is first opened).
 * Both flavours share the lock (and the registry of open files), so one file is never open in
 * both at once.
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
     * cacheSize, maxLogSize, timeout, readonly }`. Throws code `LOCKED` if another handle,
     * worker thread or process (Node or native) has it open, after waiting up to `timeout` ms
     * (alias `lockTimeout`; default 0) for it to close. `readonly`: open an existing file
     * read-only, sharing it with other read-only openers (the engine never writes: the log is
     * replayed in memory); a file that cannot be opened for writing opens read-only too.
     * `salvage`: open a damaged database with what can still be read.
     */
    static open(path, options) {
      init();
      if (options?.readonly) return this._openFile(path, options, true);
      try {
        return this._openFile(path, options, false);
      } catch (e) {
        // As sqlite3 does: a file this process cannot write (its permissions, a read-only file
        // system or directory) opens read-only instead, and `recoveryReport().openedReadOnly`
        // says why.
        if (!['EACCES', 'EPERM', 'EROFS'].includes(e?.code) || !fs.existsSync(path)) throw e;
        let db;
        try {
          db = this._openFile(path, options, true);
        } catch {
          throw e;
        }
        db._openedReadOnly = `cannot open it for writing: ${e.message}`;
        return db;
      }
    }

    static _openFile(path, options, readonly) {
      const timeout = options?.timeout ?? options?.lockTimeout ?? 0;
      if (typeof timeout !== 'number' || !(timeout >= 0)) {
        throw codedError('INVALID_ARGUMENT', `timeout must be a number of milliseconds >= 0, not ${String(timeout)}`);
      }
      const { O_RDWR, O_RDONLY, O_CREAT } = fs.constants;
      const fd = fs.openSync(path, readonly ? O_RDONLY : O_RDWR | O_CREAT, 0o644);
      let id;
      let releaseLock = null;
      try {
        const st = fs.fstatSync(fd, { bigint: true });
        id = `${st.dev}:${st.ino}`;
        const here = openFiles.get(id);
        if (here && (here.writer || !readonly)) {
          throw codedError(
            'LOCKED',
            `database is locked by another handle or process: ${path} is already open ${here.writer ? 'read-write' : 'read-only'} in this thread`,
          );
        }
        releaseLock = acquireFileLock(fs.realpathSync(path), { readonly, timeout, shown: path });
      } catch (e) {
        fs.closeSync(fd);
        throw e;
      }
      const here = openFiles.get(id) ?? { writer: false, readers: 0 };
      if (readonly) here.readers++;
      else here.writer = true;
      openFiles.set(id, here);
      const release = () => {
        if (readonly) here.readers--;
        else here.writer = false;
        if (!here.writer && here.readers === 0) openFiles.delete(id);
        try {
          fs.closeSync(fd);
        } finally {
          releaseLock();
        }
      };
      try {
        const device = new NodeFileDevice(fd, { readOnly: readonly });
        const db = super.openDevice(device, { ...options, readonly });
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
