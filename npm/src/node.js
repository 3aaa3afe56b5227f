// Node.js entry of tessera-db, full flavour (engine + SQL): `import { Tessera } from
// 'tessera-db'`. The engine-only flavour is node-kv.js ('tessera-db/kv'); both are made by
// node-base.js (file device, locking). It loads pkg/tessera_node_bg.wasm: the same engine and
// SQL layer as the browser's pkg/tessera_bg.wasm (same glue), compiled for speed, not size.

import * as glue from '../pkg/tessera.js';
import { ReadTransaction, WriteTransaction } from './core.js';
import { nodeTessera, NodeFileDevice } from './node-base.js';
import { Statement, withSql } from './sql.js';

/** An open database (synchronous API): key-value and SQL. */
export class Tessera extends nodeTessera(glue, new URL('../pkg/tessera_node_bg.wasm', import.meta.url)) {}
withSql(Tessera);

export { ReadTransaction, WriteTransaction, Statement, NodeFileDevice };
export default Tessera;
