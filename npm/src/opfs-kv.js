// 'tessera-db/kv/opfs', engine-only flavour: the synchronous key-value API on an OPFS file, for
// your own dedicated Worker (and for src/worker-kv.js), on the engine-only wasm
// (pkg/tessera_kv.js); no SQL. See opfs-base.js (device, locking).
//
//   import { Tessera } from 'tessera-db/kv/opfs';
//   const db = await Tessera.open('app.db');   // async only to get the handle and the lock
//   db.write((tx) => tx.put('users', 'alice', 'admin'));
//   db.close();                                // releases the handle and the lock

import * as glue from '../pkg/tessera_kv.js';
import { ReadTransaction, WriteTransaction } from './core.js';
import { opfsTessera, OpfsDevice } from './opfs-base.js';

const flavour = opfsTessera(glue);

/** An open database (synchronous key-value API; in a dedicated Worker). */
export class Tessera extends flavour.Tessera {}
/** Load the wasm module (once); `Tessera.open`/`memory` call it themselves. */
export const initWasm = flavour.initWasm;

export { ReadTransaction, WriteTransaction, OpfsDevice };
export default Tessera;
