// The SQL side of the browser benchmark: one dedicated module Worker per engine, running the
// workloads through that engine's synchronous prepared-statement API on OPFS, with the loop and
// the timer inside the worker (so page↔worker messaging is not measured, only the SQL path):
//
//   tessera: tessera-db's synchronous SQL API ('tessera-db/opfs', src/opfs.js): Tessera.open()
//            on an OPFS sync access handle, db.prepare(), st.run()/get()/iterate(),
//            db.transaction(); rows as objects (the default); default durability (each
//            autocommit write and each COMMIT flushes the handle).
//   sqlite:  @sqlite.org/sqlite-wasm on the opfs-sahpool VFS (worker-only, like tessera-db's
//            OPFS device), db.prepare(), bind()/step()/get*()/reset(); PRAGMA synchronous=FULL,
//            journal_mode the VFS default (delete), cache_size 64 MiB (tessera's default
//            budget), page size 8192 (sahpool's default) — the settings of the key-value run.
//
// Same schema, same data (made by the page, posted before the timings), same statements:
//   CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL, value REAL NOT NULL,
//                  payload BLOB NOT NULL)
//   bulk:    BEGIN; INSERT INTO t VALUES (?, ?, ?, ?) ×N (ids in random order); COMMIT
//   durable: the same INSERT ×D in autocommit mode: D durable transactions
//   points:  SELECT name, value, payload FROM t WHERE id = ? ×R (random existing ids),
//            autocommit reads (each its own read transaction)
//   scan:    SELECT id, name, value, payload FROM t (every row, rowid order), one statement
// Every workload returns check values (rows, sums of id and value, payload and name bytes)
// that the page compares with what the data says, so a fast wrong answer fails the run.

const engines = {
  async tessera(name) {
    const { Tessera } = await import('../src/opfs.js');
    const db = await Tessera.open(name);
    db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL, value REAL NOT NULL, payload BLOB NOT NULL)');
    const ins = db.prepare('INSERT INTO t VALUES (?, ?, ?, ?)');
    const sel = db.prepare('SELECT name, value, payload FROM t WHERE id = ?');
    const scan = db.prepare('SELECT id, name, value, payload FROM t');
    return {
      info: { engine: 'tessera-db (src/opfs.js, synchronous SQL API)', pageSize: db.pageSize, durability: 'default (each commit flushes the sync access handle)' },
      bulk(d) {
        const { ids, names, values, payloads } = d;
        db.transaction(() => {
          for (let i = 0; i < ids.length; i++) ins.run(ids[i], names[i], values[i], payloads[i]);
        })();
        return ids.length;
      },
      durable(d) {
        const { ids, names, values, payloads } = d;
        let changes = 0;
        for (let i = 0; i < ids.length; i++) changes += ins.run(ids[i], names[i], values[i], payloads[i]).changes;
        return changes;
      },
      points(ids) {
        let rows = 0, value = 0, payload = 0, name = 0;
        for (let i = 0; i < ids.length; i++) {
          const r = sel.get(ids[i]);
          if (r === undefined) continue;
          rows++;
          value += r.value;
          payload += r.payload.length;
          name += r.name.length;
        }
        return { rows, value, payload, name };
      },
      scan() {
        let rows = 0, id = 0, value = 0, payload = 0, name = 0;
        for (const r of scan.iterate()) {
          rows++;
          id += r.id;
          value += r.value;
          payload += r.payload.length;
          name += r.name.length;
        }
        return { rows, id, value, payload, name };
      },
      count: () => db.prepare('SELECT count(*) FROM t').pluck().get(),
      close() {
        for (const st of [ins, sel, scan]) st.finalize();
        db.close();
      },
    };
  },

  async sqlite() {
    const { default: sqlite3InitModule } = await import('../node_modules/@sqlite.org/sqlite-wasm/dist/index.mjs');
    const sqlite3 = await sqlite3InitModule();
    const pool = await sqlite3.installOpfsSAHPoolVfs({ name: 'bench-sql-sahpool', directory: '.bench-sql-sahpool', clearOnInit: true });
    const db = new pool.OpfsSAHPoolDb('/bench-sql.sqlite3');
    db.exec('PRAGMA synchronous=FULL; PRAGMA cache_size=-65536;');
    db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL, value REAL NOT NULL, payload BLOB NOT NULL)');
    const ins = db.prepare('INSERT INTO t VALUES (?, ?, ?, ?)');
    const sel = db.prepare('SELECT name, value, payload FROM t WHERE id = ?');
    const scan = db.prepare('SELECT id, name, value, payload FROM t');
    const insert = (id, name, value, payload) => {
      ins.bind(1, id).bind(2, name).bind(3, value).bind(4, payload);
      ins.stepReset();
    };
    return {
      info: {
        engine: `sqlite-wasm ${sqlite3.version.libVersion} (${pool.vfsName})`,
        synchronous: db.selectValue('PRAGMA synchronous'),
        journalMode: db.selectValue('PRAGMA journal_mode'),
        cacheSize: db.selectValue('PRAGMA cache_size'),
        pageSize: db.selectValue('PRAGMA page_size'),
        durability: 'PRAGMA synchronous=FULL; sahpool xSync = FileSystemSyncAccessHandle.flush()',
      },
      bulk(d) {
        const { ids, names, values, payloads } = d;
        db.exec('BEGIN');
        try {
          for (let i = 0; i < ids.length; i++) insert(ids[i], names[i], values[i], payloads[i]);
          db.exec('COMMIT');
        } catch (e) {
          db.exec('ROLLBACK');
          throw e;
        }
        return ids.length;
      },
      durable(d) {
        const { ids, names, values, payloads } = d;
        let changes = 0;
        for (let i = 0; i < ids.length; i++) {
          insert(ids[i], names[i], values[i], payloads[i]);
          changes += db.changes();
        }
        return changes;
      },
      points(ids) {
        let rows = 0, value = 0, payload = 0, name = 0;
        for (let i = 0; i < ids.length; i++) {
          sel.bind(1, ids[i]);
          if (sel.step()) {
            rows++;
            name += sel.getString(0).length;
            value += sel.getFloat(1);
            payload += sel.getBlob(2).length;
          }
          sel.reset();
        }
        return { rows, value, payload, name };
      },
      scan() {
        let rows = 0, id = 0, value = 0, payload = 0, name = 0;
        while (scan.step()) {
          rows++;
          id += scan.getInt(0);
          name += scan.getString(1).length;
          value += scan.getFloat(2);
          payload += scan.getBlob(3).length;
        }
        scan.reset();
        return { rows, id, value, payload, name };
      },
      count: () => db.selectValue('SELECT count(*) FROM t'),
      async close() {
        for (const st of [ins, sel, scan]) st.finalize();
        db.close();
        await pool.removeVfs();
      },
    };
  },
};

let engine = null;
let data = null;

const handlers = {
  async open({ engine: name, file }) {
    engine = await engines[name](file);
    return engine.info;
  },
  // The data, posted once before the timings.
  load(d) {
    data = d;
    return true;
  },
  bulk: () => engine.bulk(data.bulk),
  durable: () => engine.durable(data.durable),
  points: () => engine.points(data.pointIds),
  scan: () => engine.scan(),
  count: () => engine.count(),
  async close() {
    await engine.close();
    engine = null;
    data = null;
    return true;
  },
};

self.onmessage = async ({ data: { id, method, args } }) => {
  try {
    const t0 = performance.now();
    const result = await handlers[method](args);
    const ms = performance.now() - t0;
    self.postMessage({ id, ok: true, result, ms });
  } catch (e) {
    self.postMessage({ id, ok: false, error: `${e?.code ? `${e.code}: ` : ''}${e?.stack ?? e}` });
  }
};
