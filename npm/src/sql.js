// The synchronous SQL API (better-sqlite3 style) over the wasm `Statement`: `db.prepare(sql)`
// gives a `Statement` with run/get/all/iterate. Mixed into the full flavour's `Tessera` (node.js,
// opfs.js) by `withSql`; the engine-only flavour (node-kv.js, opfs-kv.js) never loads it.
//
// The hot path passes no JS objects to wasm. Parameters are encoded straight into a scratch
// buffer in wasm memory (tag byte + f64/i64 or u32 length + bytes), result rows come back in
// another buffer (tag byte + value), both found through a header of f64 slots at a fixed
// address; docs/BINDINGS.md specifies the formats (wasm/src/sql.rs is the other side).

import { wasmMemory, sqlIo, sqlReserve } from '../pkg/tessera.js';

// Parameter tags.
const P_NULL = 0;
const P_INT = 1;
const P_REAL = 2;
const P_BIGINT = 3;
const P_TEXT = 4;
const P_BLOB = 5;
// Header slots.
const H_PARAMS_PTR = 0;
const H_PARAMS_CAP = 1;
const H_OUT_PTR = 2;
const H_ROWS = 4;
const H_COLS_GEN = 5;
const H_CHANGES = 6;
const H_ROWID = 7;
const H_FLAGS = 8;
const H_SLOTS = 10;
// Flags.
const F_ROWID_BIG = 1;
const F_TX_CURSOR = 2;
const F_DONE = 4;

/** Rows of the first `iterate()` batch, and of each later one. */
const FIRST_BATCH = 32;
const BATCH = 512;

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const TWO_63 = 9223372036854775808;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function codedError(code, message, Type = Error) {
  const e = new Type(message);
  e.code = code;
  return e;
}

// --- views on wasm memory ---------------------------------------------------------------------

let memory = null;
let hdrPtr = 0;
let u8 = null;
let dv = null;
let hdr = null;
let rowid64 = null;
let pPtr = 0;
let pCap = 0;

/**
 * (Re)create the views if wasm memory grew (growing detaches the old buffer, so the views read
 * as empty: cheaper to test than `memory.buffer`) or on first use. Call after every wasm call.
 */
function views() {
  if (u8 === null || u8.byteLength === 0) {
    if (memory === null) {
      memory = wasmMemory();
      hdrPtr = sqlIo();
    }
    const buffer = memory.buffer;
    u8 = new Uint8Array(buffer);
    dv = new DataView(buffer);
    hdr = new Float64Array(buffer, hdrPtr, H_SLOTS);
    rowid64 = new BigInt64Array(buffer, hdrPtr + H_SLOTS * 8, 1);
  }
}

/** Views, and the parameter buffer's place. */
function paramViews() {
  views();
  pPtr = hdr[H_PARAMS_PTR];
  pCap = hdr[H_PARAMS_CAP];
}

/** Make room for `need` more bytes of parameters at offset `at`. */
function ensure(at, need) {
  if (at + need > pCap) {
    sqlReserve(at + need);
    paramViews();
  }
}

// --- parameters -------------------------------------------------------------------------------

function typeName(v) {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  return v.constructor?.name ?? 'object';
}

/** Encode one value at offset `at` of the parameter buffer; returns the next offset. */
function encodeValue(v, at, index) {
  switch (typeof v) {
    case 'number': {
      ensure(at, 9);
      const p = pPtr + at;
      u8[p] = Number.isInteger(v) && v < TWO_63 && v >= -TWO_63 ? P_INT : P_REAL;
      dv.setFloat64(p + 1, v, true);
      return at + 9;
    }
    case 'string': {
      const n = v.length;
      ensure(at, 5 + 3 * n);
      const p = pPtr + at;
      u8[p] = P_TEXT;
      let len = -1;
      if (n <= 32) {
        // Short strings: copy ASCII directly (cheaper than encodeInto's call).
        const d = p + 5;
        let i = 0;
        for (; i < n; i++) {
          const c = v.charCodeAt(i);
          if (c >= 0x80) break;
          u8[d + i] = c;
        }
        if (i === n) len = n;
      }
      if (len < 0) len = encoder.encodeInto(v, u8.subarray(p + 5, p + 5 + 3 * n)).written;
      dv.setUint32(p + 1, len, true);
      return at + 5 + len;
    }
    case 'bigint': {
      if (v < I64_MIN || v > I64_MAX) {
        throw codedError('INVALID_ARGUMENT', `parameter ${index + 1}: BigInt ${v} is out of the 64-bit signed integer range`, RangeError);
      }
      ensure(at, 9);
      const p = pPtr + at;
      u8[p] = P_BIGINT;
      dv.setBigInt64(p + 1, v, true);
      return at + 9;
    }
    case 'boolean': {
      ensure(at, 9);
      const p = pPtr + at;
      u8[p] = P_INT;
      dv.setFloat64(p + 1, v ? 1 : 0, true);
      return at + 9;
    }
    case 'undefined':
      ensure(at, 1);
      u8[pPtr + at] = P_NULL;
      return at + 1;
    case 'object': {
      if (v === null) {
        ensure(at, 1);
        u8[pPtr + at] = P_NULL;
        return at + 1;
      }
      let bytes;
      if (v instanceof Uint8Array) bytes = v;
      else if (ArrayBuffer.isView(v)) bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      else if (v instanceof ArrayBuffer) bytes = new Uint8Array(v);
      else break;
      const n = bytes.length;
      ensure(at, 5 + n);
      const p = pPtr + at;
      u8[p] = P_BLOB;
      dv.setUint32(p + 1, n, true);
      u8.set(bytes, p + 5);
      return at + 5 + n;
    }
    default:
      break;
  }
  throw codedError(
    'INVALID_ARGUMENT',
    `parameter ${index + 1}: SQLite cannot bind a ${typeName(v)} (use a number, bigint, string, boolean, null, Uint8Array or ArrayBuffer)`,
    TypeError,
  );
}

/** A plain object (`{...}` or null-prototype): named parameters. */
function isNamedObject(v) {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Split better-sqlite3-style arguments into positional values and one object of named values:
 * arrays are spread, a plain object holds named parameters.
 */
function splitArgs(args) {
  let positional = args;
  let named = null;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (typeof a === 'object' && a !== null && (Array.isArray(a) || isNamedObject(a))) {
      positional = [];
      for (const b of args) {
        if (Array.isArray(b)) {
          for (const c of b) positional.push(c);
        } else if (isNamedObject(b)) {
          if (named !== null) {
            throw codedError('INVALID_ARGUMENT', 'named parameters can only be given in one object', TypeError);
          }
          named = b;
        } else {
          positional.push(b);
        }
      }
      break;
    }
  }
  return [positional, named];
}

/** Encode `args` for `st` into the parameter buffer; returns the byte length. */
function bind(st, args) {
  if (st._inner === null) throw codedError('CLOSED', 'the statement has been finalized');
  if (st._db._txIters !== 0) throw busyError();
  if (st._iter !== null) {
    if (st._db.isClosed) throw codedError('CLOSED', 'the database is closed');
    throw codedError('BUSY', 'this statement is busy: an iterate() over its rows is still open (finish or break out of it first)');
  }
  paramViews();
  const names = st._names;
  const count = names.length;
  let at = 0;
  if (!st._hasNamed && args.length === count) {
    // Fast path: positional parameters, one value each (arrays/objects fall to the slow path).
    for (let i = 0; i < count; i++) {
      const v = args[i];
      if (typeof v === 'object' && v !== null && (Array.isArray(v) || isNamedObject(v))) return bindSlow(st, args);
      at = encodeValue(v, at, i);
    }
    return at;
  }
  return bindSlow(st, args);
}

function bindSlow(st, args) {
  const [positional, named] = splitArgs(args);
  const names = st._names;
  const count = names.length;
  let next = 0;
  let at = 0;
  for (let i = 0; i < count; i++) {
    const name = names[i];
    let v;
    if (name === null || named === null) {
      if (next >= positional.length) {
        throw codedError('INVALID_ARGUMENT', `too few parameter values were provided: the statement takes ${count}`, RangeError);
      }
      v = positional[next++];
    } else {
      const key = name.slice(1);
      v = named[key];
      if (v === undefined && !(key in named)) {
        throw codedError('INVALID_ARGUMENT', `missing named parameter "${key}" (for ${name})`, RangeError);
      }
    }
    at = encodeValue(v, at, i);
  }
  if (next < positional.length) {
    throw codedError('INVALID_ARGUMENT', `too many parameter values were provided: the statement takes ${count}${st._hasNamed ? ' (named ones from the object)' : ''}`, RangeError);
  }
  return at;
}

// --- rows -------------------------------------------------------------------------------------

let rp = 0;

function readText(n) {
  const p = rp;
  rp += n;
  if (n <= 16) {
    let s = '';
    for (let i = p; i < p + n; i++) {
      const c = u8[i];
      if (c >= 0x80) return decoder.decode(u8.subarray(p, p + n));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return decoder.decode(u8.subarray(p, p + n));
}

function readValue(safe) {
  const tag = u8[rp++];
  switch (tag) {
    case 0:
      return null;
    case 1: {
      const v = dv.getInt32(rp, true);
      rp += 4;
      return safe ? BigInt(v) : v;
    }
    case 2: {
      const v = dv.getFloat64(rp, true);
      rp += 8;
      return safe ? BigInt(v) : v;
    }
    case 3: {
      const v = dv.getBigInt64(rp, true);
      rp += 8;
      return v;
    }
    case 4: {
      const v = dv.getFloat64(rp, true);
      rp += 8;
      return v;
    }
    case 5:
      rp += 4;
      return readText(dv.getUint32(rp - 4, true));
    case 6: {
      const n = dv.getUint32(rp, true);
      rp += 4;
      const b = u8.slice(rp, rp + n);
      rp += n;
      return b;
    }
    default:
      throw codedError('INTERNAL', `malformed result row (tag ${tag})`);
  }
}

/** Read one row at `rp` in the statement's output mode. */
function readRow(st, cols) {
  const n = cols.length;
  const safe = st._safe;
  if (st._pluck) {
    const v = readValue(safe);
    for (let i = 1; i < n; i++) readValue(false);
    return v;
  }
  if (st._raw) {
    const row = new Array(n);
    for (let i = 0; i < n; i++) row[i] = readValue(safe);
    return row;
  }
  return st._makeRow(readValue, safe);
}

/** Build rows keyed by column name with a plain loop (fallback of `rowMaker`). */
function loopRowMaker(cols) {
  const n = cols.length;
  return (read, safe) => {
    const row = {};
    for (let i = 0; i < n; i++) {
      const name = cols[i];
      const v = read(safe);
      if (name === '__proto__') Object.defineProperty(row, name, { value: v, enumerable: true, writable: true, configurable: true });
      else row[name] = v;
    }
    return row;
  };
}

let canGenerate = true;

/**
 * A function making one row object from the values read in column order. A generated object
 * literal (one fixed shape per column list) is about twice as fast as assigning keys in a loop;
 * where `new Function` is not allowed (a CSP without 'unsafe-eval') the loop is used. Duplicate
 * names: the last one wins, as in better-sqlite3.
 */
function rowMaker(cols) {
  if (canGenerate && !cols.includes('__proto__')) {
    try {
      const body = cols.map((c) => `${JSON.stringify(c)}: read(safe)`).join(', ');
      // eslint-disable-next-line no-new-func
      return new Function('read', 'safe', `return { ${body} };`);
    } catch {
      canGenerate = false;
    }
  }
  return loopRowMaker(cols);
}

/** Read `count` rows from the output buffer. */
function readRows(st, count) {
  const cols = columnsOf(st);
  rp = hdr[H_OUT_PTR];
  const rows = new Array(count);
  for (let i = 0; i < count; i++) rows[i] = readRow(st, cols);
  return rows;
}

/** The statement's result column names, refreshed when wasm reports they changed. */
function columnsOf(st) {
  const gen = hdr[H_COLS_GEN];
  if (gen !== st._colsGen) {
    st._cols = st._inner.columnNames();
    views(); // that call may have grown wasm memory
    st._colsGen = gen;
    st._makeRow = rowMaker(st._cols);
  }
  return st._cols;
}

function busyError() {
  return codedError(
    'BUSY',
    'the database connection is busy: an iterate() over a query inside the open transaction has not finished (finish or break out of it first)',
  );
}

function notReader(method) {
  return codedError('INVALID_ARGUMENT', `${method}() is for statements that return data; this one does not (use run())`, TypeError);
}

// --- Statement --------------------------------------------------------------------------------

/** A prepared statement (synchronous API). Create with `db.prepare(sql)`. */
export class Statement {
  /** @internal */
  constructor(db, inner) {
    this._db = db;
    this._inner = inner;
    /** The SQL text. */
    this.source = inner.source;
    /** Whether the statement returns rows (a query, or RETURNING). */
    this.reader = inner.reader;
    const names = inner.parameterNames();
    this._names = names;
    this._hasNamed = names.some((n) => n !== null);
    this._raw = false;
    this._pluck = false;
    this._safe = db._safeIntegers;
    this._cols = [];
    this._colsGen = 0;
    this._makeRow = null;
    this._iter = null;
  }

  /** The database this statement belongs to. */
  get database() {
    return this._db;
  }

  /** Run the statement: `{ changes, lastInsertRowid }`. */
  run(...params) {
    const n = bind(this, params);
    this._inner.run(n);
    views();
    const rowid = (hdr[H_FLAGS] & F_ROWID_BIG) !== 0 ? rowid64[0] : this._safe ? BigInt(hdr[H_ROWID]) : hdr[H_ROWID];
    return { changes: hdr[H_CHANGES], lastInsertRowid: rowid };
  }

  /** The first row, or undefined. */
  get(...params) {
    if (!this.reader) throw notReader('get');
    const n = bind(this, params);
    const found = this._inner.get(n);
    views();
    if (!found) {
      columnsOf(this);
      return undefined;
    }
    const cols = columnsOf(this);
    rp = hdr[H_OUT_PTR];
    return readRow(this, cols);
  }

  /** Every row, as an array. */
  all(...params) {
    if (!this.reader) throw notReader('all');
    const n = bind(this, params);
    const count = this._inner.all(n);
    views();
    return readRows(this, count);
  }

  /**
   * The rows one by one, fetched from wasm in batches. While the iterator is open this
   * statement is busy; if it reads inside an open transaction, the whole connection is busy.
   * Breaking out of a `for...of` (or calling `return()`) releases it.
   */
  iterate(...params) {
    if (!this.reader) throw notReader('iterate');
    const n = bind(this, params);
    const count = this._inner.iterate(n, FIRST_BATCH);
    views();
    const flags = hdr[H_FLAGS];
    const rows = readRows(this, count);
    return new RowIterator(this, rows, (flags & F_DONE) !== 0, (flags & F_TX_CURSOR) !== 0);
  }

  /** Rows as arrays of values instead of objects (`raw(false)` to undo). */
  raw(toggle = true) {
    this._raw = Boolean(toggle);
    if (this._raw) this._pluck = false;
    return this;
  }

  /** Only the first column of each row (`pluck(false)` to undo). */
  pluck(toggle = true) {
    this._pluck = Boolean(toggle);
    if (this._pluck) this._raw = false;
    return this;
  }

  /** Every INTEGER as a bigint (`safeIntegers(false)`: numbers, bigint beyond 2^53). */
  safeIntegers(toggle = true) {
    this._safe = Boolean(toggle);
    return this;
  }

  /**
   * Result column names. A query that has not run yet is started (no rows read) to learn them;
   * a write with RETURNING gives them only after it ran.
   */
  columns() {
    if (this._inner === null) throw codedError('CLOSED', 'the statement has been finalized');
    if (this._colsGen === 0) {
      if (this._db._txIters !== 0) throw busyError();
      this._cols = this._inner.probeColumns();
      this._colsGen = this._inner.columnsGen;
      this._makeRow = rowMaker(this._cols);
    }
    return this._cols.slice();
  }

  /** Free the statement's wasm memory now (later calls throw CLOSED). Idempotent. */
  finalize() {
    if (this._inner === null) return;
    if (this._iter !== null) this._iter.return();
    this._inner.free();
    this._inner = null;
  }
}

/** Iterator of `Statement.iterate()`. */
class RowIterator {
  constructor(st, rows, done, txCursor) {
    this._st = st;
    this._rows = rows;
    this._i = 0;
    this._done = done;
    this._tx = false;
    this._finished = false;
    st._iter = this;
    if (!done && txCursor) {
      this._tx = true;
      st._db._txIters++;
    }
  }

  [Symbol.iterator]() {
    return this;
  }

  next() {
    if (this._i < this._rows.length) return { value: this._rows[this._i++], done: false };
    if (this._done) {
      this._finish();
      return { value: undefined, done: true };
    }
    const st = this._st;
    let count;
    try {
      count = st._inner.nextBatch(BATCH);
    } catch (e) {
      this._done = true;
      this._finish();
      throw e;
    }
    views();
    this._done = (hdr[H_FLAGS] & F_DONE) !== 0;
    this._rows = readRows(st, count);
    this._i = 0;
    return this.next();
  }

  return(value) {
    this._finish();
    return { value, done: true };
  }

  _finish() {
    if (this._finished) return;
    this._finished = true;
    this._rows = [];
    this._done = true;
    const st = this._st;
    if (st._iter === this) st._iter = null;
    if (this._tx) {
      this._tx = false;
      if (st._db._txIters > 0) st._db._txIters--;
    }
    if (st._inner !== null) st._inner.endIterate();
  }
}

/** SQL methods of `Tessera` (`withSql` mixes these into its prototype). */
export const sqlMethods = {
  /** Run every statement in `sql` (separated by `;`). Returns the database. */
  exec(sql) {
    if (typeof sql !== 'string') throw codedError('INVALID_ARGUMENT', 'exec() takes a string of SQL', TypeError);
    if (this._txIters !== 0) throw busyError();
    this._db.exec(sql);
    return this;
  },

  /** Prepare one SQL statement. */
  prepare(sql) {
    if (typeof sql !== 'string') throw codedError('INVALID_ARGUMENT', 'prepare() takes a string of SQL', TypeError);
    return new Statement(this, this._db.prepare(sql));
  },

  /**
   * Wrap `fn` in a transaction: the returned function runs BEGIN, `fn(...args)`, COMMIT, and
   * ROLLBACK instead if `fn` throws (re-throwing). Called while a transaction is already open,
   * it just runs `fn` inside it (no savepoints: an error then rolls back nothing by itself).
   */
  transaction(fn) {
    if (typeof fn !== 'function') throw codedError('INVALID_ARGUMENT', 'transaction() takes a function', TypeError);
    const db = this;
    const wrapped = function transaction(...args) {
      if (db._db.inTransaction) return fn.apply(this, args);
      db._txStatement('BEGIN').run();
      try {
        const result = fn.apply(this, args);
        if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
          throw codedError('INVALID_ARGUMENT', 'a transaction function must not return a Promise (the sync API cannot wait for it)', TypeError);
        }
        db._txStatement('COMMIT').run();
        return result;
      } catch (e) {
        if (db._db.inTransaction) db._txStatement('ROLLBACK').run();
        throw e;
      }
    };
    // better-sqlite3's variants; all the same here (one writer, BEGIN is always immediate).
    wrapped.deferred = wrapped;
    wrapped.immediate = wrapped;
    wrapped.exclusive = wrapped;
    return wrapped;
  },

  /** Whether a transaction (BEGIN) is open. */
  get inTransaction() {
    return this._db.inTransaction;
  },

  /** Default of `safeIntegers` for statements prepared from now on. */
  defaultSafeIntegers(toggle = true) {
    this._safeIntegers = Boolean(toggle);
    return this;
  },

  /** @internal A cached BEGIN/COMMIT/ROLLBACK statement. */
  _txStatement(sql) {
    const cache = (this._txStatements ??= new Map());
    let st = cache.get(sql);
    if (st === undefined || st._inner === null) {
      st = this.prepare(sql);
      cache.set(sql, st);
    }
    return st;
  },
};

/**
 * Add the SQL API (exec, prepare, transaction, inTransaction, defaultSafeIntegers) to a
 * `Tessera` class of the full flavour (its `_glue` must be pkg/tessera.js); returns it.
 */
export function withSql(Tessera) {
  Object.defineProperties(Tessera.prototype, Object.getOwnPropertyDescriptors(sqlMethods));
  return Tessera;
}
