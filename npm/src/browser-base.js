// Browser (main thread) part of tessera-db shared by its two flavours: a Promise-based handle on
// a database in OPFS. The engine runs in a dedicated Worker that `Tessera.open` starts itself:
// the entries are src/browser.js (full: adds the SQL methods, starts src/worker.js) and
// src/browser-kv.js (engine only: starts src/worker-kv.js); each names its worker script in
// `_startWorker`, with the literal `new Worker(new URL(...))` bundlers recognise.
//
//   import { Tessera } from 'tessera-db';              // or 'tessera-db/kv'
//   const db = await Tessera.open('app.db');
//   await db.put('users', 'alice', 'admin');
//   await db.write([                                   // one message, one write transaction
//     { op: 'put', table: 'users', key: 'bob', value: 'staff' },
//     { op: 'delete', table: 'users', key: 'carol' },
//   ]);
//   const [alice, rows] = await db.read([              // one message, one snapshot
//     { op: 'getString', table: 'users', key: 'alice' },
//     { op: 'range', table: 'users', start: 'a', end: 'c', limit: 10 },
//   ]);
//   await db.close();
//
// A second tab (or worker) opening the same database while it is open gets an Error with code
// `LOCKED` at once, or, with `{ lockTimeout: ms }`, waits up to that long for it to be closed
// (see src/opfs-base.js). Every error is an Error with a stable `code`.

export function codedError(code, message, extra) {
  const e = new Error(message);
  e.code = code;
  if (extra) Object.assign(e, extra);
  return e;
}

/** `wasm` URL options cross to the worker as strings (URL objects do not clone). */
function cloneableOptions(options) {
  const o = { ...(options ?? {}) };
  delete o.workerUrl;
  if (o.wasm instanceof URL) o.wasm = o.wasm.href;
  return o;
}

/**
 * A database in OPFS, run by a dedicated Worker. Every method returns a Promise. A flavour's
 * subclass defines `static _startWorker(name)`.
 */
export class Tessera {
  /** @internal Use `Tessera.open`. */
  constructor(worker, name, options) {
    this._worker = worker;
    this._name = name;
    this._nextId = 1;
    this._pending = new Map();
    this._closed = false;
    this._closing = null;
    /** @internal Whether a SQL transaction is open (full flavour: every reply carries `inTx`). */
    this._inTx = false;
    /** @internal Test hook: called with the tag of each `{ op: 'debugNotify', tag }` reached. */
    this._onDebug = null;
    worker.onmessage = (event) => this._onMessage(event.data);
    worker.onerror = (event) => {
      event.preventDefault?.();
      this._fail(codedError('WORKER_FAILED', `the tessera worker failed: ${event.message || 'could not load its script (src/worker.js or src/worker-kv.js; served with a JavaScript MIME type?)'}`));
    };
    worker.onmessageerror = () => {
      this._fail(codedError('WORKER_FAILED', 'a message from the tessera worker could not be deserialised'));
    };
  }

  /**
   * Open (creating if missing) the database `name` in the origin's OPFS ('app.db' or
   * 'dir/app.db'). `options`: `{ pageSize, cacheSize, maxLogSize, lockTimeout, wasm,
   * workerUrl }`. Rejects with code `LOCKED` if another tab or worker has it open (after
   * waiting up to `lockTimeout` ms, default 0).
   */
  static async open(name, options) {
    if (typeof Worker === 'undefined') throw codedError('UNSUPPORTED', 'tessera-db needs Web Workers (browser main thread)');
    const worker = options?.workerUrl ? new Worker(options.workerUrl, { type: 'module', name: `tessera:${name}` }) : this._startWorker(name);
    const db = new this(worker, name, options);
    try {
      const info = await db._call('open', [name, cloneableOptions(options)]);
      db._pageSize = info.pageSize;
    } catch (e) {
      db._closed = true;
      worker.terminate();
      throw e;
    }
    return db;
  }

  _onMessage(msg) {
    if (msg && 'debug' in msg && !('id' in msg)) {
      if (this._onDebug) this._onDebug(msg.debug);
      return;
    }
    if (msg && typeof msg.inTx === 'boolean') this._inTx = msg.inTx;
    const p = this._pending.get(msg?.id);
    if (!p) return;
    this._pending.delete(msg.id);
    if (msg.ok) {
      p.resolve(msg.result);
    } else {
      const { code, message, name, opIndex, offset, line, column } = msg.error;
      const extra = {};
      if (opIndex !== undefined) extra.opIndex = opIndex;
      if (offset !== undefined) Object.assign(extra, { offset, line, column });
      const e = codedError(code, message, extra);
      if (name && name !== 'Error') e.cause = name;
      if (name === 'TypeError' || name === 'RangeError') Object.setPrototypeOf(e, (name === 'TypeError' ? TypeError : RangeError).prototype);
      p.reject(e);
    }
  }

  /** Reject every pending call and stop the worker (it is unusable after a failure). */
  _fail(error) {
    this._closed = true;
    this._worker.terminate();
    for (const p of this._pending.values()) p.reject(error);
    this._pending.clear();
  }

  _call(method, args) {
    if (this._closed) return Promise.reject(codedError('CLOSED', 'the database is closed'));
    const id = this._nextId++;
    return new Promise((resolve, reject) => {
      this._pending.set(id, { resolve, reject });
      try {
        this._worker.postMessage({ id, method, args });
      } catch (e) {
        this._pending.delete(id);
        reject(codedError('INVALID_ARGUMENT', `argument cannot be sent to the worker: ${e.message}`));
      }
    });
  }

  /** Name of the database file in OPFS. */
  get name() {
    return this._name;
  }

  get pageSize() {
    return this._pageSize;
  }

  get isClosed() {
    return this._closed;
  }

  /**
   * Run `ops` in one read snapshot; resolves to their results in order. Operations:
   * `{ op: 'get', table, key }` → Uint8Array | undefined, `{ op: 'getString', table, key }` →
   * string | undefined, `{ op: 'count', table }` → number, `{ op: 'range', table, start, end,
   * reverse, limit }` → [key, value][], `{ op: 'listTables' }` → string[].
   */
  read(ops) {
    return this._call('read', [ops]);
  }

  /**
   * Run `ops` in one write transaction: committed after the last one, rolled back if any fails
   * (the Error then has `opIndex`). Besides the read operations: `{ op: 'put', table, key,
   * value }`, `{ op: 'delete', table, key }` → boolean, `{ op: 'deleteTable', table }` →
   * boolean. `options.durability`: 'immediate' (default) or 'none'.
   */
  write(ops, options) {
    return this._call('write', [ops, options]);
  }

  get(table, key) {
    return this._call('get', [table, key]);
  }

  getString(table, key) {
    return this._call('getString', [table, key]);
  }

  put(table, key, value) {
    return this._call('put', [table, key, value]);
  }

  delete(table, key) {
    return this._call('delete', [table, key]);
  }

  deleteTable(table) {
    return this._call('deleteTable', [table]);
  }

  count(table) {
    return this._call('count', [table]);
  }

  listTables() {
    return this._call('listTables', []);
  }

  /** Rows with `start <= key < end` (null/undefined: unbounded) as [key, value][]. */
  range(table, start, end, options) {
    return this._call('range', [table, start ?? undefined, end ?? undefined, options]);
  }

  entries(table, options) {
    return this.range(table, undefined, undefined, options);
  }

  sync() {
    return this._call('sync', []);
  }

  checkpoint() {
    return this._call('checkpoint', []);
  }

  compact() {
    return this._call('compact', []);
  }

  stats() {
    return this._call('stats', []);
  }

  check() {
    return this._call('check', []);
  }

  /** Close the database (releasing the file and the lock) and stop the worker. Idempotent. */
  close() {
    if (this._closing) return this._closing;
    if (this._closed) return Promise.resolve();
    this._closing = this._call('close', []).finally(() => {
      this._closed = true;
      this._worker.terminate();
    });
    return this._closing;
  }

  /**
   * @internal Test hook: kill the worker without closing the database (like a crashed tab).
   * Pending calls reject with code `CLOSED`.
   */
  _terminate() {
    this._fail(codedError('CLOSED', 'the worker was terminated'));
  }
}
