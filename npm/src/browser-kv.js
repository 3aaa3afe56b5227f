// Browser (main thread) entry of tessera-db, engine-only flavour ('tessera-db/kv' under the
// `browser` condition): the Promise-based key-value API of src/browser-base.js, run by a
// dedicated Worker (src/worker-kv.js) on the engine-only wasm (pkg/tessera_kv_bg.wasm); no SQL.
//
//   import { Tessera } from 'tessera-db/kv';
//   const db = await Tessera.open('app.db');
//   await db.put('users', 'alice', 'admin');
//   await db.getString('users', 'alice');               // 'admin'
//   await db.close();

import { Tessera as TesseraBase } from './browser-base.js';

/** A database in OPFS, run by a dedicated Worker: key-value API. Every method returns a Promise. */
export class Tessera extends TesseraBase {
  /** @internal The worker of this flavour. */
  static _startWorker(name) {
    return new Worker(new URL('./worker-kv.js', import.meta.url), { type: 'module', name: `tessera:${name}` });
  }
}

export default Tessera;
