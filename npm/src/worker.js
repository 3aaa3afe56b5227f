// The Worker that `Tessera.open` in `src/browser.js` starts: it opens the database on OPFS
// (src/opfs.js: sync access handle + Web Lock) and executes the requests of the main thread.
// You do not load this file yourself.
//
// Protocol (structured-clone messages; one request, one reply):
//   main → worker  { id, method, args }
//   worker → main  { id, ok: true, result } | { id, ok: false, error: { code, message, name, opIndex? } }
// A transaction is one request: `read`/`write` carry an array of operations that run inside one
// read snapshot / one write transaction (committed after the last operation, aborted if any
// operation fails). Byte results are transferred, not copied.
//
// SQL: the worker keeps the prepared statements (by id) and the open iterations (one per
// statement) of the synchronous API (src/sql.js); every reply carries `inTx`, whether a SQL
// transaction is open afterwards.

import { Tessera } from './opfs.js';

const decoder = new TextDecoder();
let db = null;
/** Prepared statements by id, and the open iteration of each statement being iterated. */
const statements = new Map();
const iterations = new Map();
let nextStatementId = 1;

function codedError(code, message) {
  const e = new Error(message);
  e.code = code;
  return e;
}

function needDb() {
  if (!db || db.isClosed) throw codedError('CLOSED', 'the database is closed');
  return db;
}

/** Rows of a range as [key, value] pairs (each batch is one buffer; the rows are views). */
function rangeRows(tx, op) {
  const out = [];
  const options = {};
  if (op.reverse !== undefined) options.reverse = op.reverse;
  if (op.limit !== undefined) options.limit = op.limit;
  if (op.batchSize !== undefined) options.batchSize = op.batchSize;
  for (const batch of tx.rangeBatches(op.table, op.start, op.end, options)) {
    for (const row of batch) out.push(row);
  }
  return out;
}

function runOp(tx, op, writable) {
  if (op === null || typeof op !== 'object') throw codedError('INVALID_ARGUMENT', 'each operation must be an object like { op: "get", table, key }');
  switch (op.op) {
    case 'get':
      return tx.get(op.table, op.key);
    case 'getString': {
      const v = tx.get(op.table, op.key);
      return v === undefined ? undefined : decoder.decode(v);
    }
    case 'count':
      return tx.count(op.table);
    case 'range':
      return rangeRows(tx, op);
    case 'listTables':
      return tx.listTables();
    case 'put':
    case 'delete':
    case 'deleteTable':
      if (!writable) throw codedError('INVALID_ARGUMENT', `operation "${op.op}" is only allowed in write()`);
      if (op.op === 'put') return void tx.put(op.table, op.key, op.value);
      if (op.op === 'delete') return tx.delete(op.table, op.key);
      return tx.deleteTable(op.table);
    case 'debugNotify':
      // Test hook: tell the main thread we got here (it may terminate us mid-transaction).
      self.postMessage({ debug: op.tag ?? null });
      return undefined;
    default:
      throw codedError('INVALID_ARGUMENT', `unknown operation ${JSON.stringify(op.op)} (get, getString, count, range, listTables, put, delete, deleteTable)`);
  }
}

function runOps(tx, ops, writable) {
  if (!Array.isArray(ops)) throw codedError('INVALID_ARGUMENT', 'operations must be an array');
  const results = new Array(ops.length);
  for (let i = 0; i < ops.length; i++) {
    try {
      results[i] = runOp(tx, ops[i], writable);
    } catch (e) {
      if (e && typeof e === 'object') e.opIndex = i;
      throw e;
    }
  }
  return results;
}

function statement(id, flags) {
  const st = statements.get(id);
  if (st === undefined) throw codedError('CLOSED', 'the statement has been finalized');
  // flags: 1 raw, 2 pluck, 4 safeIntegers (the main thread's toggles).
  st.raw((flags & 1) !== 0);
  st.pluck((flags & 2) !== 0);
  st.safeIntegers((flags & 4) !== 0);
  return st;
}

/** Up to `n` rows of the iteration of statement `id`: `{ rows, done }`. */
function pull(id, n) {
  const it = iterations.get(id);
  if (it === undefined) return { rows: [], done: true };
  const rows = [];
  try {
    while (rows.length < n) {
      const r = it.next();
      if (r.done) {
        iterations.delete(id);
        return { rows, done: true };
      }
      rows.push(r.value);
    }
  } catch (e) {
    iterations.delete(id);
    throw e;
  }
  return { rows, done: false };
}

function endIteration(id) {
  const it = iterations.get(id);
  if (it !== undefined) {
    iterations.delete(id);
    it.return();
  }
}

const sqlMethods = {
  exec(sql) {
    needDb().exec(sql);
  },
  prepare(sql) {
    const st = needDb().prepare(sql);
    const id = nextStatementId++;
    statements.set(id, st);
    return { id, reader: st.reader, source: st.source };
  },
  sqlRun: (id, params, flags) => statement(id, flags).run(...params),
  sqlGet: (id, params, flags) => statement(id, flags).get(...params),
  sqlAll: (id, params, flags) => statement(id, flags).all(...params),
  sqlColumns: (id) => statement(id, 0).columns(),
  sqlIterate(id, params, flags, n) {
    const st = statement(id, flags);
    iterations.set(id, st.iterate(...params));
    return pull(id, n);
  },
  sqlNext: (id, n) => pull(id, n),
  sqlEndIterate: (id) => endIteration(id),
  sqlFinalize(id) {
    endIteration(id);
    const st = statements.get(id);
    statements.delete(id);
    if (st !== undefined) st.finalize();
  },
  /** BEGIN unless a transaction is open; resolves to whether it began one. */
  txBegin() {
    const d = needDb();
    if (d.inTransaction) return false;
    d.exec('BEGIN');
    return true;
  },
  /** COMMIT (or ROLLBACK) the open transaction, if any. */
  txEnd(commit) {
    const d = needDb();
    if (d.inTransaction) d.exec(commit ? 'COMMIT' : 'ROLLBACK');
  },
};

const methods = {
  ...sqlMethods,
  async open(name, options) {
    if (db && !db.isClosed) throw codedError('INVALID_ARGUMENT', 'this worker already has a database open');
    db = await Tessera.open(name, options);
    return { pageSize: db.pageSize };
  },
  read(ops) {
    return needDb().read((rx) => runOps(rx, ops, false));
  },
  write(ops, options) {
    return needDb().write((tx) => {
      if (options?.durability !== undefined) tx.setDurability(options.durability);
      return runOps(tx, ops, true);
    });
  },
  get: (table, key) => needDb().get(table, key),
  getString: (table, key) => needDb().read((rx) => rx.getString(table, key)),
  put: (table, key, value) => needDb().put(table, key, value),
  delete: (table, key) => needDb().delete(table, key),
  deleteTable: (table) => needDb().write((tx) => tx.deleteTable(table)),
  count: (table) => needDb().read((rx) => rx.count(table)),
  listTables: () => needDb().read((rx) => rx.listTables()),
  range: (table, start, end, options) => needDb().read((rx) => rangeRows(rx, { table, start, end, ...(options ?? {}) })),
  sync: () => needDb().sync(),
  checkpoint: () => needDb().checkpoint(),
  compact: () => needDb().compact(),
  stats: () => needDb().stats(),
  check: () => needDb().check(),
  close() {
    iterations.clear();
    statements.clear();
    if (db) db.close();
    db = null;
  },
};

/**
 * ArrayBuffers behind the Uint8Arrays in `value` (results only hold fresh, unshared buffers):
 * in arrays, SQL rows (objects) and `{ rows }` batches.
 */
function transferables(value, out = new Set()) {
  if (value instanceof Uint8Array) {
    out.add(value.buffer);
  } else if (Array.isArray(value)) {
    for (const v of value) if (typeof v === 'object' && v !== null) transferables(v, out);
  } else if (typeof value === 'object' && value !== null) {
    for (const k in value) {
      const v = value[k];
      if (typeof v === 'object' && v !== null) transferables(v, out);
    }
  }
  return out;
}

function errorPayload(e) {
  if (e && typeof e === 'object') {
    return {
      code: typeof e.code === 'string' ? e.code : 'INTERNAL',
      message: String(e.message ?? e),
      name: String(e.name ?? 'Error'),
      opIndex: typeof e.opIndex === 'number' ? e.opIndex : undefined,
      offset: typeof e.offset === 'number' ? e.offset : undefined,
      line: typeof e.line === 'number' ? e.line : undefined,
      column: typeof e.column === 'number' ? e.column : undefined,
    };
  }
  return { code: 'INTERNAL', message: String(e), name: 'Error' };
}

function inTransaction() {
  try {
    return db !== null && !db.isClosed && db.inTransaction;
  } catch {
    return false;
  }
}

// Requests run strictly one after another (open is async; everything else is synchronous).
let queue = Promise.resolve();

self.onmessage = (event) => {
  const { id, method, args } = event.data ?? {};
  queue = queue.then(async () => {
    let reply;
    let transfer = [];
    try {
      const fn = Object.hasOwn(methods, method) ? methods[method] : null;
      if (!fn) throw codedError('INVALID_ARGUMENT', `unknown method ${JSON.stringify(method)}`);
      const result = await fn(...(Array.isArray(args) ? args : []));
      reply = { id, ok: true, result };
      transfer = [...transferables(result)];
    } catch (e) {
      reply = { id, ok: false, error: errorPayload(e) };
    }
    reply.inTx = inTransaction();
    try {
      self.postMessage(reply, transfer);
    } catch (e) {
      self.postMessage({ id, ok: false, error: errorPayload(e) });
    }
  });
};
