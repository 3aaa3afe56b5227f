// The Worker that `Tessera.open` in `src/browser.js` starts (full flavour: engine + SQL): it
// opens the database on OPFS with src/opfs.js and executes the requests of the main thread
// (the request loop is src/worker-base.js, shared with the engine-only src/worker-kv.js). You
// do not load this file yourself.
//
// SQL: the worker keeps the prepared statements (by id) and the open iterations (one per
// statement) of the synchronous API (src/sql.js); every reply carries `inTx`, whether a SQL
// transaction is open afterwards.

import { Tessera } from './opfs.js';
import { codedError, needDb, serve } from './worker-base.js';

/** Prepared statements by id, and the open iteration of each statement being iterated. */
const statements = new Map();
const iterations = new Map();
let nextStatementId = 1;

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

serve(Tessera, {
  methods: sqlMethods,
  close() {
    iterations.clear();
    statements.clear();
  },
  inTransaction() {
    try {
      const db = needDb();
      return db.inTransaction;
    } catch {
      return false;
    }
  },
});
