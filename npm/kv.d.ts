// Types of 'tessera-db/kv' (src/node-kv.js): the engine-only flavour, the key-value API of
// 'tessera-db' without the SQL methods (exec, prepare, transaction, inTransaction,
// defaultSafeIntegers). kv-browser.d.ts types its `browser` condition.
import type { OpenOptions, NodeOpenOptions, TesseraDevice, Tessera as FullTessera } from './index.js';
export type {
  Bytes, ErrorCode, TesseraError, OpenOptions, NodeOpenOptions, RangeOptions, Entry, TesseraDevice, Stats, CheckReport,
  RecoveryReport,
} from './index.js';
export { ReadTransaction, WriteTransaction, NodeFileDevice } from './index.js';

/** The SQL members of the full flavour's classes, which the engine-only flavour lacks. */
export type SqlMembers = 'exec' | 'prepare' | 'transaction' | 'inTransaction' | 'defaultSafeIntegers';

/** An open database (synchronous key-value API). */
export interface Tessera extends Omit<FullTessera, SqlMembers> {}
export declare class Tessera {
  /**
   * Open (creating if missing) a database file. Throws LOCKED if another handle, worker thread
   * or process (Node or native) has it open, after waiting up to `options.timeout` ms.
   */
  static open(path: string, options?: NodeOpenOptions): Tessera;
  static memory(): Tessera;
  static openDevice(device: TesseraDevice, options?: OpenOptions): Tessera;
}
export default Tessera;
