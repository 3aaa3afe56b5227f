// A user-written dedicated Worker on the engine-only synchronous API, 'tessera-db/kv/opfs'
// (src/opfs-kv.js). Message `{ name, mode }`: 'write' writes 100 rows and reads them back,
// 'read' only reads (after a page reload).
import * as kv from '../src/opfs-kv.js';

const { Tessera } = kv;
const SQL_MEMBERS = ['exec', 'prepare', 'transaction', 'inTransaction', 'defaultSafeIntegers'];

self.onmessage = async ({ data: { name, mode } }) => {
  const out = {};
  try {
    const db = await Tessera.open(name);
    if (mode === 'write') {
      db.write((tx) => {
        for (let i = 0; i < 100; i++) tx.put('t', `k${String(i).padStart(3, '0')}`, `v${i}`);
      });
      out.sqlMembers = SQL_MEMBERS.filter((m) => m in db);
      out.statementExport = 'Statement' in kv;
      out.wasmPrepare = typeof db._db.prepare;
      out.second = await Tessera.open(name).then(() => 'opened', (e) => e.code);
    }
    out.value = db.read((rx) => rx.getString('t', 'k042'));
    out.count = db.read((rx) => rx.count('t'));
    out.keys = db.read((rx) => [...rx.range('t', 'k010', 'k013')].map(([k]) => new TextDecoder().decode(k)));
    out.checkOk = db.check().ok;
    db.close();
  } catch (e) {
    out.error = `${e.code}: ${e.message}`;
  }
  self.postMessage(out);
};
