// 'tessera-db/opfs', full flavour (engine + SQL): the synchronous API on an OPFS file, for your
// own dedicated Worker (and for src/worker.js). See opfs-base.js (device, locking);
// 'tessera-db/kv/opfs' (opfs-kv.js) is the engine-only flavour.
//
//   import { Tessera } from 'tessera-db/opfs';
//   const db = await Tessera.open('app.db');   // async only to get the handle and the lock
//   db.exec('CREATE TABLE IF NOT EXISTS t(k TEXT PRIMARY KEY, v)');
//   db.write((tx) => tx.put('users', 'alice', 'admin'));
//   db.close();                                // releases the handle and the lock

import * as glue from '../pkg/tessera.js';
import { ReadTransaction, WriteTransaction } from './core.js';
import { opfsTessera, OpfsDevice } from './opfs-base.js';
import { Statement, withSql } from './sql.js';

const flavour = opfsTessera(glue);

/** An open database (synchronous API, key-value and SQL; in a dedicated Worker). */
export class Tessera extends flavour.Tessera {}
withSql(Tessera);
/** Load the wasm module (once); `Tessera.open`/`memory` call it themselves. */
export const initWasm = flavour.initWasm;

export { ReadTransaction, WriteTransaction, Statement, OpfsDevice };
export default Tessera;
