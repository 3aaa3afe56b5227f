// A user-written dedicated Worker using the synchronous API of 'tessera-db/opfs' (src/opfs.js).
import { Tessera } from '../src/opfs.js';

self.onmessage = async ({ data: name }) => {
  const out = {};
  try {
    const db = await Tessera.open(name);
    db.write((tx) => {
      for (let i = 0; i < 100; i++) tx.put('t', `k${String(i).padStart(3, '0')}`, `v${i}`);
    });
    out.value = db.read((rx) => rx.getString('t', 'k042'));
    out.count = db.read((rx) => rx.count('t'));
    out.keys = db.read((rx) => [...rx.range('t', 'k010', 'k013')].map(([k]) => new TextDecoder().decode(k)));
    // Second open of the same database (Web Lock held): LOCKED.
    out.second = await Tessera.open(name).then(() => 'opened', (e) => e.code);
    db.close();
    const again = await Tessera.open(name);
    out.reopened = again.read((rx) => rx.count('t'));
    again.close();
    // A file whose sync access handle someone else holds (no Web Lock taken): LOCKED too.
    const root = await navigator.storage.getDirectory();
    const raw = await (await root.getFileHandle(`raw-${name}`, { create: true })).createSyncAccessHandle();
    out.rawHeld = await Tessera.open(`raw-${name}`).then(() => 'opened', (e) => e.code);
    raw.close();
    const ok = await Tessera.open(`raw-${name}`);
    out.rawAfter = ok.check().ok;
    ok.close();
    out.badName = await Tessera.open('../x.db').then(() => 'opened', (e) => e.code);
  } catch (e) {
    out.error = `${e.code}: ${e.message}`;
  }
  self.postMessage(out);
};
