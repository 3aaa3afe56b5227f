// The request loop of the Worker that `Tessera.open` on the main thread (src/browser-base.js)
// starts, shared by both flavours: `serve(Tessera, sql)` opens the database on OPFS with the
// flavour's `Tessera` (src/opfs-base.js: sync access handle + Web Lock) and executes the requests
// of the main thread. The worker scripts are src/worker.js (full: opfs.js, plus the SQL methods)
// and src/worker-kv.js (engine only: opfs-kv.js). You do not load these files yourself.
//
// Protocol (structured-clone messages; one request, one reply):
//   main → worker  { id, method, args }
//   worker → main  { id, ok: true, result } | { id, ok: false, error: { code, message, name, opIndex? } }
// A transaction is one request: `read`/`write` carry an array of operations that run inside one
// read snapshot / one write transaction (committed after the last operation, aborted if any
// operation fails). Byte results are transferred, not copied. `readPacked`/`writePacked` carry
// the operations packed in one buffer (src/browser-base.js `packOps`; the wasm runs them in one
// call) and answer with one buffer. On a cross-origin isolated page the main thread attaches a
// SharedArrayBuffer (`attachChannel`): from then on the worker waits on it between messages
// (`serveChannel`) for packed requests, and goes back to its message loop when told to.
//
// SQL (full flavour only, src/worker.js): more methods, and every reply carries `inTx`, whether
// a SQL transaction is open afterwards.

const decoder = new TextDecoder();
let db = null;

export function codedError(code, message) {
  const e = new Error(message);
  e.code = code;
  return e;
}

/** The open database, or a CLOSED error. */
export function needDb() {
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
    case 'debugNotify': {
      // Test hook: tell the main thread we got here (it may terminate us mid-transaction),
      // then hold the transaction open for `holdMs` (at most 10 s) so that the terminate
      // lands inside it however fast the rest of the batch would run.
      self.postMessage({ debug: op.tag ?? null });
      const until = performance.now() + Math.min(Number(op.holdMs) || 0, 10000);
      while (performance.now() < until) { /* busy: a Worker cannot sleep synchronously */ }
      return undefined;
    }
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

/** Run `fn(tx)` in a write transaction with `durability` (undefined: the default). */
function inWrite(durability, fn) {
  return needDb().write((tx) => {
    if (durability !== undefined) tx.setDurability(durability);
    return fn(tx);
  });
}

/** The flavour's OPFS `Tessera`, and the SQL part of the full flavour (see `serve`). */
let Tessera = null;
let sql = null;

const methods = {
  async open(name, options) {
    if (db && !db.isClosed) throw codedError('INVALID_ARGUMENT', 'this worker already has a database open');
    db = await Tessera.open(name, options);
    return { pageSize: db.pageSize };
  },
  read(ops) {
    return needDb().read((rx) => runOps(rx, ops, false));
  },
  write: (ops, options) => inWrite(options?.durability, (tx) => runOps(tx, ops, true)),
  deleteTable: (table) => needDb().write((tx) => tx.deleteTable(table)),
  count: (table) => needDb().read((rx) => rx.count(table)),
  listTables: () => needDb().read((rx) => rx.listTables()),
  range: (table, start, end, options) => needDb().read((rx) => rangeRows(rx, { table, start, end, ...(options ?? {}) })),
  readPacked: (req) => needDb().read((rx) => rx._runPacked(req)),
  writePacked: (req, durability) => inWrite(durability, (tx) => tx._runPacked(req)),
  attachChannel(sab) {
    chan = { ctrl: new Int32Array(sab, 0, 8), data: new Uint8Array(sab, 32) };
    return true;
  },
  sync: () => needDb().sync(),
  checkpoint: () => needDb().checkpoint(),
  compact: () => needDb().compact(),
  stats: () => needDb().stats(),
  check: () => needDb().check(),
  close() {
    chan = null;
    sql?.close();
    if (db) db.close();
    db = null;
  },
};

// Requests run strictly one after another (open is async; everything else is synchronous).
let queue = Promise.resolve();

/**
 * The shared-memory channel of a cross-origin isolated page (see `_viaChannel` in
 * src/browser-base.js for the layout): once attached, the worker waits on it between messages
 * and runs the packed requests it carries, until the main thread asks it (kind 0) to go back
 * to its message loop for the next message.
 */
let chan = null;
const utf8 = new TextEncoder();

function serveChannel() {
  const { ctrl, data } = chan;
  for (;;) {
    const answered = Atomics.load(ctrl, 1);
    // Calls often come back to back (awaited one by one): look for the next for a few µs
    // before sleeping, which saves the wake-up.
    const until = performance.now() + 0.03;
    while (Atomics.load(ctrl, 0) === answered && performance.now() < until);
    Atomics.wait(ctrl, 0, answered);
    const seq = Atomics.load(ctrl, 0);
    // Woken without a request (this happens): wait again, and above all leave the data area
    // alone, as the main thread may be writing the next request into it.
    if (seq === answered) continue;
    const kind = Atomics.load(ctrl, 2);
    if (kind === 0) {
      Atomics.store(ctrl, 1, seq);
      return;
    }
    try {
      const req = data.subarray(0, Atomics.load(ctrl, 3));
      const res = kind === 1 ? methods.readPacked(req) : methods.writePacked(req, kind === 3 ? 'none' : undefined);
      if (Atomics.load(ctrl, 0) !== seq) throw codedError('INTERNAL', 'the channel changed during a request');
      if (res.length <= data.length) {
        data.set(res);
        Atomics.store(ctrl, 5, res.length);
        Atomics.store(ctrl, 4, 0);
      } else {
        self.postMessage({ id: Atomics.load(ctrl, 6), ok: true, result: res }, [res.buffer]);
        Atomics.store(ctrl, 4, 2);
      }
    } catch (e) {
      // (TextEncoder.encodeInto refuses shared memory: encode, then copy.)
      const payload = errorPayload(e);
      payload.message = payload.message.slice(0, 4096);
      const bytes = utf8.encode(JSON.stringify(payload));
      data.set(bytes);
      Atomics.store(ctrl, 5, bytes.length);
      Atomics.store(ctrl, 4, 1);
    }
    Atomics.store(ctrl, 1, seq);
    Atomics.notify(ctrl, 1);
  }
}

function onMessage(event) {
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
    if (sql) reply.inTx = sql.inTransaction();
    try {
      self.postMessage(reply, transfer);
    } catch (e) {
      self.postMessage({ id, ok: false, error: errorPayload(e) });
    }
    if (chan) serveChannel();
  });
}

/**
 * Answer the main thread's requests with the flavour's OPFS `Tessera` (`flavourTessera`). `sqlPart`
 * (full flavour only): `{ methods, close(), inTransaction() }`: more request methods, a hook
 * run on close, and the `inTx` state sent with every reply.
 */
export function serve(flavourTessera, sqlPart) {
  Tessera = flavourTessera;
  sql = sqlPart ?? null;
  if (sql) Object.assign(methods, sql.methods);
  self.onmessage = onMessage;
}

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
