// Browser (main thread) entry of tessera-db, full flavour (engine + SQL): a Promise-based handle
// on a database in OPFS. The engine runs in a dedicated Worker (src/worker.js) that
// `Tessera.open` starts itself. The key-value API is src/browser-base.js, shared with the
// engine-only flavour (src/browser-kv.js, 'tessera-db/kv').
//
//   import { Tessera } from 'tessera-db';
//   const db = await Tessera.open('app.db');
//   await db.put('users', 'alice', 'admin');
//   await db.close();
//
// SQL: the same names as the synchronous API (src/sql.js), every call a Promise:
//   await db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)');
//   const ins = await db.prepare('INSERT INTO t(name) VALUES (?)');
//   await ins.run('alice');                              // { changes, lastInsertRowid }
//   const q = await db.prepare('SELECT * FROM t WHERE id = :id');
//   await q.get({ id: 1 });                              // { id: 1, name: 'alice' }
//   for await (const row of q.iterate({ id: 1 })) {}    // rows arrive in batches
//   await db.transaction(async () => { await ins.run('bob'); })();

import { Tessera as TesseraBase, codedError } from './browser-base.js';

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

/** A database in OPFS, run by a dedicated Worker: key-value and SQL. Every method returns a Promise. */
export class Tessera extends TesseraBase {
  /** @internal Use `Tessera.open`. */
  constructor(worker, name, options) {
    super(worker, name, options);
    this._safeIntegers = Boolean(options?.safeIntegers);
  }

  /** @internal The worker of this flavour. */
  static _startWorker(name) {
    return new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: `tessera:${name}` });
  }

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
