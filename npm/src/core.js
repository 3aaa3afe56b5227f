// The environment-independent key-value API over the wasm classes, shared by both flavours of
// the package: the full one (pkg/tessera.js, engine + SQL) and the engine-only one
// (pkg/tessera_kv.js). It imports no wasm glue itself: each entry's `Tessera` subclass
// (node-base.js, opfs-base.js) names its glue module in the static field `_glue` and
// initialises it; the full entries (node.js, opfs.js) add the SQL methods of sql.js.
//
// Everything here is synchronous. Keys and values go in as Uint8Array (a Node Buffer works) or
// string (UTF-8); they come out as Uint8Array. Every error is an Error with a stable `code`.

const decoder = new TextDecoder();

/**
 * Decode one packed batch from `Cursor.nextBatch()` (or a packed range result, see
 * src/browser-base.js) into [key, value] pairs (views, no copy).
 */
export function unpackBatch(buf) {
  const rows = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = 0;
  while (at < buf.length) {
    const kl = view.getUint32(at, true);
    const vl = view.getUint32(at + 4, true);
    at += 8;
    const key = buf.subarray(at, at + kl);
    at += kl;
    const value = buf.subarray(at, at + vl);
    at += vl;
    rows.push([key, value]);
  }
  return rows;
}

/** Iterate a wasm cursor batch by batch (one JS↔wasm call per batch). */
function* batches(cursor) {
  try {
    for (;;) {
      const buf = cursor.nextBatch();
      if (buf.length === 0) return;
      yield unpackBatch(buf);
    }
  } finally {
    cursor.free();
  }
}

function* rows(cursor) {
  for (const batch of batches(cursor)) yield* batch;
}

function codedError(code, message) {
  const e = new Error(message);
  e.code = code;
  return e;
}

class TransactionBase {
  constructor(inner) {
    this._inner = inner;
  }

  /** The value under `key` in `table` (Uint8Array), or undefined. */
  get(table, key) {
    return this._inner.get(table, key);
  }

  /** The value under `key` decoded as UTF-8, or undefined. */
  getString(table, key) {
    const v = this._inner.get(table, key);
    return v === undefined ? undefined : decoder.decode(v);
  }

  /** Number of entries in `table`. */
  count(table) {
    return this._inner.count(table);
  }

  /**
   * Entries with `start <= key < end` (null/undefined: unbounded) as [key, value] pairs.
   * `options`: `{ reverse, limit, batchSize }`. Rows are fetched from wasm in batches.
   */
  range(table, start, end, options) {
    return rows(this._inner.range(table, start ?? undefined, end ?? undefined, options ?? undefined));
  }

  /** Like `range`, but yields whole batches (arrays of [key, value] pairs). */
  rangeBatches(table, start, end, options) {
    return batches(this._inner.range(table, start ?? undefined, end ?? undefined, options ?? undefined));
  }

  /** All entries of `table` in key order. */
  entries(table, options) {
    return this.range(table, undefined, undefined, options);
  }

  /** Names of all tables, sorted. */
  listTables() {
    return this._inner.listTables();
  }

  /** @internal Run a packed request (src/browser-base.js `packOps`); returns the packed results. */
  _runPacked(req) {
    return this._inner.runPacked(req);
  }
}

/** A consistent snapshot of the last commit. Call `close()` when done. */
export class ReadTransaction extends TransactionBase {
  /** Id of the last transaction this snapshot includes. */
  get txnId() {
    return this._inner.txnId();
  }

  close() {
    this._inner.close();
    this._inner.free();
    this._inner = closedTx;
  }
}

/** The write transaction: `commit()` or `abort()` it. */
export class WriteTransaction extends TransactionBase {
  put(table, key, value) {
    this._inner.put(table, key, value);
  }

  /** Remove `key`; returns whether it was present. */
  delete(table, key) {
    return this._inner.delete(table, key);
  }

  /** Delete `table` and all its entries; returns whether it existed. */
  deleteTable(table) {
    return this._inner.deleteTable(table);
  }

  /** `"immediate"` (default, one sync per commit) or `"none"` (durable after `db.sync()`). */
  setDurability(durability) {
    this._inner.setDurability(durability);
  }

  get isOpen() {
    return this._inner !== closedTx && this._inner.isOpen;
  }

  commit() {
    const inner = this._inner;
    try {
      inner.commit();
    } finally {
      if (inner !== closedTx) {
        inner.free();
        this._inner = closedTx;
      }
    }
  }

  abort() {
    if (this._inner === closedTx) return;
    this._inner.abort();
    this._inner.free();
    this._inner = closedTx;
  }
}

/** Stand-in for a finished transaction: every call fails with code CLOSED. */
const closedTx = new Proxy(
  {},
  {
    get(_, prop) {
      if (prop === 'isOpen') return false;
      if (prop === 'close' || prop === 'abort') return () => {};
      return () => {
        throw codedError('CLOSED', 'the transaction is closed');
      };
    },
  },
);

/** An open database (synchronous API). */
export class Tessera {
  /** @internal Use `Tessera.open` / `Tessera.memory`. */
  constructor(wasmDb, onClose, options) {
    this._db = wasmDb;
    this._onClose = onClose;
    this._safeIntegers = Boolean(options?.safeIntegers);
    /** @internal Open `iterate()`s reading the open SQL transaction (the connection is busy). */
    this._txIters = 0;
    this._txStatements = null;
  }

  /** A new, empty in-memory database. `options`: `{ safeIntegers }`. */
  static memory(options) {
    return new this(this._glue.Database.memory(), null, options);
  }

  /** Open a database on any device object (read/write/sync/len/setLen). */
  static openDevice(device, options) {
    return new this(this._glue.Database.openDevice(device, options ?? undefined), null, options);
  }

  beginRead() {
    return new ReadTransaction(this._db.beginRead());
  }

  beginWrite() {
    return new WriteTransaction(this._db.beginWrite());
  }

  /** Run `fn(tx)` in a read transaction and close it afterwards; returns fn's result. */
  read(fn) {
    const rx = this.beginRead();
    try {
      return fn(rx);
    } finally {
      rx.close();
    }
  }

  /** Run `fn(tx)` in a write transaction: commit if it returns, abort if it throws. */
  write(fn) {
    const tx = this.beginWrite();
    try {
      const r = fn(tx);
      tx.commit();
      return r;
    } finally {
      tx.abort();
    }
  }

  /** One-shot get (its own read transaction). */
  get(table, key) {
    return this.read((rx) => rx.get(table, key));
  }

  /** One-shot put (its own durable write transaction). */
  put(table, key, value) {
    this.write((tx) => tx.put(table, key, value));
  }

  /** One-shot delete; returns whether the key was present. */
  delete(table, key) {
    return this.write((tx) => tx.delete(table, key));
  }

  sync() {
    this._db.sync();
  }

  checkpoint() {
    this._db.checkpoint();
  }

  compact() {
    return this._db.compact();
  }

  stats() {
    return this._db.stats();
  }

  check() {
    return this._db.check();
  }

  /**
   * What opening found: `{ framesReplayed, framesSkipped, upgradedFrom, harmlessDamage,
   * salvaged, openedReadOnly }` (`null` where there is nothing to say).
   */
  recoveryReport() {
    return { ...this._db.recoveryReport(), openedReadOnly: this._openedReadOnly ?? null };
  }

  /** Whether the database is open read-only (asked for, or the file could not be written). */
  get readonly() {
    return this._db.isReadOnly();
  }

  get pageSize() {
    return this._db.pageSize();
  }

  get isClosed() {
    return this._db.isClosed;
  }

  /** Abort the open write transaction, end read transactions, release the file. Idempotent. */
  close() {
    if (this._db.isClosed) return;
    this._txIters = 0;
    try {
      this._db.close();
    } finally {
      if (this._onClose) {
        const f = this._onClose;
        this._onClose = null;
        f();
      }
    }
  }
}
