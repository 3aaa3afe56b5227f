// Browser (main thread) entry of tessera-db: a Promise-based handle on a database in OPFS. The
// engine runs in a dedicated Worker (src/worker.js) that `Tessera.open` starts itself.
//
//   import { Tessera } from 'tessera-db';
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
// (see src/opfs.js). Every error is an Error with a stable `code`.
//
// SQL: the same names as the synchronous API (src/sql.js), every call a Promise:
//   await db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)');
//   const ins = await db.prepare('INSERT INTO t(name) VALUES (?)');
//   await ins.run('alice');                              // { changes, lastInsertRowid }
//   const q = await db.prepare('SELECT * FROM t WHERE id = :id');
//   await q.get({ id: 1 });                              // { id: 1, name: 'alice' }
//   for await (const row of q.iterate({ id: 1 })) {}    // rows arrive in batches
//   await db.transaction(async () => { await ins.run('bob'); })();

/** Rows of the first `iterate()` message, and of each later one. */
const FIRST_BATCH = 100;
const BATCH = 1000;

/** Statements garbage-collected without `finalize()`: free them in the worker. */
const statementRegistry =
  typeof FinalizationRegistry === 'undefined'
    ? null
    : new FinalizationRegistry(({ db, id }) => {
        if (!db._closed) db._worker.postMessage({ id: 0, method: 'sqlFinalize', args: [id] });
      });

function codedError(code, message, extra) {
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

/** A database in OPFS, run by a dedicated Worker. Every method returns a Promise. */
export class Tessera {
  /** @internal Use `Tessera.open`. */
  constructor(worker, name, options) {
    this._worker = worker;
    this._name = name;
    this._nextId = 1;
    this._pending = new Map();
    this._closed = false;
    this._closing = null;
    this._inTx = false;
    this._safeIntegers = Boolean(options?.safeIntegers);
    /** @internal Test hook: called with the tag of each `{ op: 'debugNotify', tag }` reached. */
    this._onDebug = null;
    worker.onmessage = (event) => this._onMessage(event.data);
    worker.onerror = (event) => {
      event.preventDefault?.();
      this._fail(codedError('WORKER_FAILED', `the tessera worker failed: ${event.message || 'could not load src/worker.js (served with a JavaScript MIME type?)'}`));
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
    const worker = options?.workerUrl
      ? new Worker(options.workerUrl, { type: 'module', name: `tessera:${name}` })
      : new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: `tessera:${name}` });
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

  // --- SQL -------------------------------------------------------------------------------------

  /** Run every statement in `sql`; resolves to the database. */
  async exec(sql) {
    await this._call('exec', [sql]);
    return this;
  }

  /** Prepare one SQL statement (kept in the worker until `finalize()`). */
  async prepare(sql) {
    return new Statement(this, await this._call('prepare', [sql]));
  }

  /**
   * Wrap `fn` (may be async) in a transaction: the returned async function runs BEGIN,
   * `await fn(...args)`, COMMIT, and ROLLBACK instead if it throws (re-throwing). If a
   * transaction is already open it just runs `fn` inside it. There is one connection: any call
   * made while the transaction is open, from anywhere on the page, runs inside it.
   */
  transaction(fn) {
    if (typeof fn !== 'function') throw codedError('INVALID_ARGUMENT', 'transaction() takes a function');
    const db = this;
    return async function transaction(...args) {
      const began = await db._call('txBegin', []);
      if (!began) return fn.apply(this, args);
      try {
        const result = await fn.apply(this, args);
        await db._call('txEnd', [true]);
        return result;
      } catch (e) {
        try {
          await db._call('txEnd', [false]);
        } catch {
          // the original error matters more
        }
        throw e;
      }
    };
  }

  /** Whether a SQL transaction is open (as of the last reply from the worker). */
  get inTransaction() {
    return this._inTx;
  }

  /** Default of `safeIntegers` for statements prepared from now on. */
  defaultSafeIntegers(toggle = true) {
    this._safeIntegers = Boolean(toggle);
    return this;
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

/** A prepared statement living in the worker; every method but the toggles is async. */
export class Statement {
  /** @internal */
  constructor(db, info) {
    this._db = db;
    this._id = info.id;
    /** The SQL text. */
    this.source = info.source;
    /** Whether the statement returns rows (a query, or RETURNING). */
    this.reader = info.reader;
    this._raw = false;
    this._pluck = false;
    this._safe = db._safeIntegers;
    this._finalized = false;
    statementRegistry?.register(this, { db, id: info.id }, this);
  }

  get database() {
    return this._db;
  }

  _flags() {
    return (this._raw ? 1 : 0) | (this._pluck ? 2 : 0) | (this._safe ? 4 : 0);
  }

  _call(method, params) {
    if (this._finalized) return Promise.reject(codedError('CLOSED', 'the statement has been finalized'));
    return this._db._call(method, [this._id, params, this._flags()]);
  }

  /** `{ changes, lastInsertRowid }`. */
  run(...params) {
    return this._call('sqlRun', params);
  }

  /** The first row, or undefined. */
  get(...params) {
    return this._call('sqlGet', params);
  }

  /** Every row (one message). */
  all(...params) {
    return this._call('sqlAll', params);
  }

  /** The rows as an async iterator (`for await`), fetched from the worker in batches. */
  iterate(...params) {
    return new RowIterator(this, params);
  }

  raw(toggle = true) {
    this._raw = Boolean(toggle);
    if (this._raw) this._pluck = false;
    return this;
  }

  pluck(toggle = true) {
    this._pluck = Boolean(toggle);
    if (this._pluck) this._raw = false;
    return this;
  }

  safeIntegers(toggle = true) {
    this._safe = Boolean(toggle);
    return this;
  }

  /** Result column names. */
  columns() {
    return this._call('sqlColumns', []);
  }

  /** Free the statement in the worker. Idempotent. */
  finalize() {
    if (this._finalized) return Promise.resolve();
    this._finalized = true;
    statementRegistry?.unregister(this);
    if (this._db._closed) return Promise.resolve();
    return this._db._call('sqlFinalize', [this._id]);
  }
}

/** Async iterator of `Statement.iterate()`. */
class RowIterator {
  constructor(st, params) {
    this._st = st;
    this._params = params;
    this._rows = [];
    this._i = 0;
    this._started = false;
    this._done = false;
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  async next() {
    for (;;) {
      if (this._i < this._rows.length) return { value: this._rows[this._i++], done: false };
      if (this._done) return { value: undefined, done: true };
      const st = this._st;
      let batch;
      try {
        if (this._started) {
          batch = await st._db._call('sqlNext', [st._id, BATCH]);
        } else {
          this._started = true;
          if (st._finalized) throw codedError('CLOSED', 'the statement has been finalized');
          batch = await st._db._call('sqlIterate', [st._id, this._params, st._flags(), FIRST_BATCH]);
        }
      } catch (e) {
        this._done = true;
        this._rows = [];
        throw e;
      }
      this._rows = batch.rows;
      this._i = 0;
      this._done = batch.done;
    }
  }

  async return(value) {
    const open = this._started && !this._done;
    this._done = true;
    this._rows = [];
    if (open) await this._st._db._call('sqlEndIterate', [this._st._id]);
    return { value, done: true };
  }
}

export default Tessera;
