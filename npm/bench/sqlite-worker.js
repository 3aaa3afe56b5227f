// The sqlite-wasm side of the benchmark: a dedicated module Worker running
// @sqlite.org/sqlite-wasm on the opfs-sahpool VFS (sync access handles, so it must live in a
// Worker). The page sends it the same kind of batched requests as tessera-db's own worker gets:
// one message per transaction / per batch of reads, results posted back (byte results are
// transferred, as tessera-db's worker does).
//
// Schema: kv(key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID (the key-value layout
// that is one B-tree, as in Tessera and IndexedDB). Prepared statements throughout.
// Durability: PRAGMA synchronous=FULL; opfs-sahpool's xSync calls FileSystemSyncAccessHandle
// .flush(), so each commit flushes (journal_mode is the VFS default, reported at init; sahpool
// has no WAL). cache_size = 64 MiB, the same page cache budget as tessera-db's default.

import sqlite3InitModule from '../node_modules/@sqlite.org/sqlite-wasm/dist/index.mjs';

let sqlite3 = null;
let pool = null;
let db = null;
let st = null;

function collectTransfer(values) {
  const t = [];
  for (const v of values) if (v instanceof Uint8Array) t.push(v.buffer);
  return t;
}

const handlers = {
  async init() {
    sqlite3 = await sqlite3InitModule();
    pool = await sqlite3.installOpfsSAHPoolVfs({ name: 'bench-sahpool', directory: '.bench-sahpool', clearOnInit: true });
    db = new pool.OpfsSAHPoolDb('/bench.sqlite3');
    db.exec('PRAGMA synchronous=FULL; PRAGMA cache_size=-65536;');
    db.exec('CREATE TABLE kv(key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID');
    st = {
      insert: db.prepare('INSERT INTO kv(key, value) VALUES (?, ?)'),
      get: db.prepare('SELECT value FROM kv WHERE key = ?'),
      scan: db.prepare('SELECT key, value FROM kv ORDER BY key'),
    };
    return {
      result: {
        version: sqlite3.version.libVersion,
        vfs: pool.vfsName,
        synchronous: db.selectValue('PRAGMA synchronous'),
        journalMode: db.selectValue('PRAGMA journal_mode'),
        cacheSize: db.selectValue('PRAGMA cache_size'),
        pageSize: db.selectValue('PRAGMA page_size'),
      },
    };
  },
  // One transaction: BEGIN, one prepared INSERT per row, COMMIT.
  insertMany({ rows }) {
    db.exec('BEGIN');
    try {
      for (const [k, v] of rows) st.insert.bind([k, v]).stepReset();
      db.exec('COMMIT');
    } catch (e) {
      db.exec('ROLLBACK');
      throw e;
    }
    return { result: rows.length };
  },
  // One insert in autocommit mode: its own durable transaction.
  insertOne({ key, value }) {
    st.insert.bind([key, value]).stepReset();
    return { result: 1 };
  },
  // A batch of point reads inside one read transaction (one snapshot, like tessera read()).
  getMany({ keys }) {
    const out = new Array(keys.length);
    db.exec('BEGIN');
    try {
      for (let i = 0; i < keys.length; i++) {
        st.get.bind([keys[i]]);
        out[i] = st.get.step() ? st.get.get(0) : undefined;
        st.get.reset();
      }
    } finally {
      db.exec('COMMIT');
    }
    return { result: out, transfer: collectTransfer(out) };
  },
  // One point read in autocommit mode.
  get({ key }) {
    st.get.bind([key]);
    const v = st.get.step() ? st.get.get(0) : undefined;
    st.get.reset();
    return { result: v, transfer: v ? [v.buffer] : [] };
  },
  // Full scan in key order: [key, value][] back to the page.
  scan({ transfer }) {
    const rows = [];
    const t = [];
    db.exec('BEGIN');
    try {
      while (st.scan.step()) {
        const v = st.scan.get(1);
        rows.push([st.scan.get(0), v]);
        if (transfer) t.push(v.buffer);
      }
      st.scan.reset();
    } finally {
      db.exec('COMMIT');
    }
    return { result: rows, transfer: t };
  },
  count() {
    return { result: db.selectValue('SELECT count(*) FROM kv') };
  },
  async close() {
    if (st) for (const s of Object.values(st)) s.finalize();
    st = null;
    if (db) db.close();
    db = null;
    if (pool) await pool.removeVfs();
    pool = null;
    return { result: true };
  },
};

// Time spent inside the handlers (SQLite work, without messaging), for the report.
let handlerMs = 0;
handlers.takeHandlerMs = () => { const ms = handlerMs; handlerMs = 0; return { result: ms }; };

self.onmessage = async (event) => {
  const { id, method, args } = event.data;
  try {
    const t0 = performance.now();
    const { result, transfer } = await handlers[method](args ?? {});
    handlerMs += performance.now() - t0;
    self.postMessage({ id, ok: true, result }, transfer ?? []);
  } catch (e) {
    self.postMessage({ id, ok: false, error: String(e?.stack ?? e) });
  }
};
