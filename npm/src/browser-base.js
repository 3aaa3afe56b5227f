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

import { unpackBatch } from './core.js';

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
  delete o.sharedChannel;
  delete o.spinMicros;
  if (o.wasm instanceof URL) o.wasm = o.wasm.href;
  return o;
}

// Packed requests: `read` batches of get, getString and range, `write` batches of get,
// getString, put and delete, and the one-call methods of the same, on string / Uint8Array
// arguments, go to the worker as one binary buffer (the format of the wasm `ReadTx.runPacked`
// and `WriteTx.runPacked`: tables first, then `[u8 code][u32 table]` and operands, lengths as
// u32 LE; specified in docs/BINDINGS.md) and come back as one. Anything else (counts, ranges in a write, batchSize, bad
// arguments: the worker reports those) goes as structured-clone objects.
const CODES = { get: 1, getString: 1, put: 2, delete: 3, range: 4 };
const utf8 = new TextEncoder();
const decoder = new TextDecoder();

/** Bytes of the channel's data area: larger requests go as messages. */
const CHANNEL_BYTES = 1 << 20;

const isBytes = (v) => typeof v === 'string' || v instanceof Uint8Array;
const isBound = (v) => v === undefined || v === null || isBytes(v);
/** A range op packs if read-only, with byte/string bounds, a boolean reverse, a u32 limit. */
const rangeOk = (op) => isBound(op.start) && isBound(op.end) && op.batchSize === undefined && (op.reverse === undefined || typeof op.reverse === 'boolean') && (op.limit === undefined || (Number.isInteger(op.limit) && op.limit >= 0 && op.limit <= 0xffffffff));
/** Room a key or value may take packed (UTF-8: up to 3 bytes per UTF-16 unit). */
const room = (v) => (typeof v === 'string' ? v.length * 3 : v.length);

/** `ops` as a packed request (Uint8Array), or null if some op cannot be packed. */
export function packOps(ops, writable) {
  if (!Array.isArray(ops) || ops.length === 0) return null;
  const tables = new Map();
  let size = 4;
  for (const op of ops) {
    const code = op !== null && typeof op === 'object' ? CODES[op.op] : undefined;
    if (!code || (code > 1 && writable !== (code < 4)) || typeof op.table !== 'string') return null;
    if (code === 4 ? !rangeOk(op) : !isBytes(op.key) || (code === 2 && !isBytes(op.value))) return null;
    if (!tables.has(op.table)) {
      tables.set(op.table, tables.size);
      size += 4 + room(op.table);
    }
    size += code === 4 ? 22 + (op.start ? room(op.start) : 0) + (op.end ? room(op.end) : 0) : 13 + room(op.key) + (code === 2 ? room(op.value) : 0);
  }
  const buf = new Uint8Array(size);
  let at = 0;
  const u32 = (n) => {
    buf[at] = n; buf[at + 1] = n >>> 8; buf[at + 2] = n >>> 16; buf[at + 3] = n >>> 24;
    at += 4;
  };
  const bytes = (v) => {
    const start = at;
    at += 4;
    if (typeof v !== 'string') {
      buf.set(v, at);
      at += v.length;
    } else {
      let i = 0;
      for (; i < v.length; i++) {
        const c = v.charCodeAt(i);
        if (c > 0x7f) break;
        buf[at + i] = c;
      }
      at += i < v.length ? utf8.encodeInto(v, buf.subarray(at)).written : i;
    }
    const end = at;
    at = start;
    u32(end - start - 4);
    at = end;
  };
  u32(tables.size);
  for (const name of tables.keys()) bytes(name);
  for (const op of ops) {
    const code = CODES[op.op];
    buf[at++] = code;
    u32(tables.get(op.table));
    if (code === 4) {
      buf[at++] = (op.start != null ? 1 : 0) | (op.end != null ? 2 : 0) | (op.limit !== undefined ? 4 : 0) | (op.reverse ? 8 : 0);
      if (op.start != null) bytes(op.start);
      if (op.end != null) bytes(op.end);
      if (op.limit !== undefined) u32(op.limit);
      continue;
    }
    bytes(op.key);
    if (code === 2) bytes(op.value);
  }
  return buf.subarray(0, at);
}

/**
 * The results of packed `ops` from the worker's packed reply `res`: values are copies; a
 * range's rows are [key, value] views of one buffer holding all its rows.
 */
export function unpackResults(ops, res) {
  const out = new Array(ops.length).fill(undefined);
  const u32 = (at) => (res[at] | (res[at + 1] << 8) | (res[at + 2] << 16) | (res[at + 3] << 24)) >>> 0;
  let at = 0;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i].op;
    if (op === 'put') continue;
    if (op === 'delete') {
      out[i] = res[at++] === 1;
    } else if (op === 'range') {
      const end = at + 4 + u32(at);
      // Views of the reply itself, unless it is the shared channel (copied out first).
      out[i] = unpackBatch(res.buffer instanceof ArrayBuffer ? res.subarray(at + 4, end) : res.slice(at + 4, end));
      at = end;
    } else if (res[at++] === 1) {
      const n = u32(at);
      const v = res.slice(at + 4, at + 4 + n);
      at += 4 + n;
      out[i] = op === 'getString' ? decoder.decode(v) : v;
    }
  }
  return out;
}

/** An Error from the worker's error payload (`{ code, message, name, opIndex?, ... }`). */
function remoteError({ code, message, name, opIndex, offset, line, column }) {
  const extra = {};
  if (opIndex !== undefined) extra.opIndex = opIndex;
  if (offset !== undefined) Object.assign(extra, { offset, line, column });
  const e = codedError(code, message, extra);
  if (name && name !== 'Error') e.cause = name;
  if (name === 'TypeError' || name === 'RangeError') Object.setPrototypeOf(e, (name === 'TypeError' ? TypeError : RangeError).prototype);
  return e;
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
    /** @internal The shared-memory channel to the worker, if any (see `_viaChannel`). */
    this._chan = null;
    /** @internal With a channel, calls run one after another: the tail of that queue. */
    this._tail = Promise.resolve();
    this._spinMs = 0;
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
      if (options?.sharedChannel !== false && globalThis.crossOriginIsolated && typeof Atomics.waitAsync === 'function') {
        const sab = new SharedArrayBuffer(32 + CHANNEL_BYTES);
        await db._call('attachChannel', [sab]);
        db._chan = { ctrl: new Int32Array(sab, 0, 8), data: new Uint8Array(sab, 32) };
        db._spinMs = Math.max(0, Number(options?.spinMicros ?? 50) || 0) / 1000;
      }
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
      p.reject(remoteError(msg.error));
    }
  }

  /** Reject every pending call and stop the worker (it is unusable after a failure). */
  _fail(error) {
    this._closed = true;
    this._worker.terminate();
    for (const p of this._pending.values()) p.reject(error);
    this._pending.clear();
  }

  _call(method, args, transfer) {
    return this._chan ? this._serial(() => this._post(method, args, transfer)) : this._post(method, args, transfer);
  }

  /** Put a request on the channel: `kind` 0 sends the worker back to its message loop. */
  _signal(kind, length, id) {
    const { ctrl } = this._chan;
    const seq = Atomics.load(ctrl, 0);
    if (Atomics.load(ctrl, 1) !== seq) throw codedError('INTERNAL', 'the channel to the worker is out of step');
    Atomics.store(ctrl, 2, kind);
    Atomics.store(ctrl, 3, length);
    Atomics.store(ctrl, 6, id);
    Atomics.store(ctrl, 0, (seq + 1) | 0);
    Atomics.notify(ctrl, 0);
    return (seq + 1) | 0;
  }

  /** Run `fn` after every call queued before it (with a channel, one call at a time). */
  _serial(fn) {
    const p = this._tail.then(fn);
    this._tail = p.catch(() => {});
    return p;
  }

  _post(method, args, transfer) {
    if (this._closed) return Promise.reject(codedError('CLOSED', 'the database is closed'));
    const id = this._nextId++;
    return new Promise((resolve, reject) => {
      this._pending.set(id, { resolve, reject });
      try {
        this._worker.postMessage({ id, method, args }, transfer ?? []);
      } catch (e) {
        this._pending.delete(id);
        reject(codedError('INVALID_ARGUMENT', `argument cannot be sent to the worker: ${e.message}`));
        return;
      }
      // A worker waiting on the channel reads messages once told to (after a successful post).
      if (this._chan) this._signal(0, 0, 0);
    });
  }

  /** Send packed `ops` (`req`) in a read or write transaction; resolves to their results. */
  _packed(ops, req, write, durability) {
    if (this._chan && req.length <= this._chan.data.length) {
      return this._serial(() => this._viaChannel(ops, req, write ? (durability === 'none' ? 3 : 2) : 1));
    }
    return this._call(write ? 'writePacked' : 'readPacked', [req, durability], [req.buffer]).then((res) => unpackResults(ops, res));
  }

  /**
   * One packed request through the shared-memory channel (when the page is cross-origin
   * isolated): ctrl = Int32Array [request seq, reply seq, kind, request length, status, reply
   * length, call id], then the data area. The worker waits on the request seq with
   * `Atomics.wait`; we write the request, bump the seq and notify, then spin on the reply seq
   * for up to `spinMicros` (a get takes a few µs: far less than a message round trip) before
   * waiting with `Atomics.waitAsync`. Status 0: the reply is in the data area; 1: an error
   * payload (JSON) is; 2: the reply did not fit and comes as a message for call `id`.
   */
  async _viaChannel(ops, req, kind) {
    if (this._closed) throw codedError('CLOSED', 'the database is closed');
    const { ctrl, data } = this._chan;
    const id = this._nextId++;
    const posted = new Promise((resolve, reject) => this._pending.set(id, { resolve, reject }));
    data.set(req);
    const seq = this._signal(kind, req.length, id);
    const until = performance.now() + this._spinMs;
    while (Atomics.load(ctrl, 1) !== seq && performance.now() < until);
    while (Atomics.load(ctrl, 1) !== seq) {
      const w = Atomics.waitAsync(ctrl, 1, (seq - 1) | 0);
      if (w.async) await Promise.race([w.value, posted]);
    }
    const status = Atomics.load(ctrl, 4);
    if (status === 2) return unpackResults(ops, await posted);
    this._pending.delete(id);
    const len = Atomics.load(ctrl, 5);
    if (status === 1) throw remoteError(JSON.parse(decoder.decode(data.slice(0, len))));
    return unpackResults(ops, data.subarray(0, len));
  }

  /** One get/getString/put/delete: a one-operation read or write (its error has no opIndex). */
  _one(op, write) {
    return (write ? this.write([op]) : this.read([op])).then(
      (r) => r[0],
      (e) => {
        delete e.opIndex;
        throw e;
      },
    );
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
    const req = packOps(ops, false);
    return req ? this._packed(ops, req, false) : this._call('read', [ops]);
  }

  /**
   * Run `ops` in one write transaction: committed after the last one, rolled back if any fails
   * (the Error then has `opIndex`). Besides the read operations: `{ op: 'put', table, key,
   * value }`, `{ op: 'delete', table, key }` → boolean, `{ op: 'deleteTable', table }` →
   * boolean. `options.durability`: 'immediate' (default) or 'none'.
   */
  write(ops, options) {
    const durability = options?.durability;
    const req = durability === undefined || durability === 'immediate' || durability === 'none' ? packOps(ops, true) : null;
    return req ? this._packed(ops, req, true, durability) : this._call('write', [ops, options]);
  }

  get(table, key) {
    return this._one({ op: 'get', table, key }, false);
  }

  getString(table, key) {
    return this._one({ op: 'getString', table, key }, false);
  }

  put(table, key, value) {
    return this._one({ op: 'put', table, key, value }, true);
  }

  delete(table, key) {
    return this._one({ op: 'delete', table, key }, true);
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
    if (options != null && (typeof options !== 'object' || Array.isArray(options))) return this._call('range', [table, start, end, options]);
    return this._one({ ...options, op: 'range', table, start: start ?? undefined, end: end ?? undefined }, false);
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
