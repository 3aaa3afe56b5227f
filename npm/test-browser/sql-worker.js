// A user-written dedicated Worker using the synchronous SQL API of 'tessera-db/opfs'.
import { Tessera } from '../src/opfs.js';

const show = (v) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? `bytes:${[...v].join(',')}` : v);

self.onmessage = async ({ data: { name, step } }) => {
  const out = {};
  try {
    const db = await Tessera.open(name);
    if (step === 'write') {
      db.exec('CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL, data BLOB, n INTEGER)');
      const ins = db.prepare('INSERT INTO items(name, data, n) VALUES (:name, :data, :n)');
      out.first = ins.run({ name: 'first', data: new Uint8Array([1, 2]), n: 2n ** 60n });
      out.first.lastInsertRowid = show(out.first.lastInsertRowid);
      db.transaction(() => {
        for (let i = 0; i < 1000; i++) ins.run({ name: `item ${i} ✓`, data: new Uint8Array(0), n: i });
      })();
      try {
        db.transaction(() => {
          ins.run({ name: 'rolled back', data: null, n: 0 });
          ins.run({ name: null, data: null, n: 0 });
        })();
      } catch (e) {
        out.rollbackError = e.code;
      }
    }
    out.count = db.prepare('SELECT count(*) FROM items').pluck().get();
    out.row = Object.fromEntries(Object.entries(db.prepare('SELECT * FROM items WHERE id = ?').get(1)).map(([k, v]) => [k, show(v)]));
    out.empty = show(db.prepare('SELECT data FROM items WHERE id = 2').pluck().get());
    let scanned = 0;
    for (const r of db.prepare('SELECT id, name FROM items ORDER BY id').raw().iterate()) scanned += r[0];
    out.scanned = scanned;
    out.rolledBack = db.prepare("SELECT count(*) FROM items WHERE name = 'rolled back'").pluck().get();
    try {
      db.prepare('SELECT * FROM items WHERE');
    } catch (e) {
      out.syntax = { code: e.code, offset: e.offset, line: e.line, column: e.column };
    }
    out.check = db.check().ok;
    db.close();
  } catch (e) {
    out.error = `${e.code}: ${e.message}`;
  }
  self.postMessage(out);
};
