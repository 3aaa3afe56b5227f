// Node.js entry of tessera-db, engine-only flavour: `import { Tessera } from 'tessera-db/kv'`.
// The key-value API of 'tessera-db' on the engine-only wasm (pkg/tessera_kv.js, built without
// the SQL layer); no exec/prepare/transaction. Same file format: a file written here opens in
// the full flavour and the reverse.

import * as glue from '../pkg/tessera_kv.js';
import { ReadTransaction, WriteTransaction } from './core.js';
import { nodeTessera, NodeFileDevice } from './node-base.js';

/** An open database (synchronous key-value API). */
export class Tessera extends nodeTessera(glue, new URL('../pkg/tessera_kv_bg.wasm', import.meta.url)) {}

export { ReadTransaction, WriteTransaction, NodeFileDevice };
export default Tessera;
