// Types of 'tessera-db/kv' (src/node-kv.js): the engine-only flavour, the key-value API of
// 'tessera-db' without the SQL methods (exec, prepare, transaction, inTransaction,
// defaultSafeIntegers). kv-browser.d.ts types its `browser` condition.
import type { OpenOptions, TesseraDevice, Tessera as FullTessera } from './index.js';
export type {
  Bytes, ErrorCode, TesseraError, OpenOptions, RangeOptions, Entry, TesseraDevice, Stats, CheckReport,
} from './index.js';
export { ReadTransaction, WriteTransaction, NodeFileDevice } from './index.js';

/** The SQL members of the full flavour's classes, which the engine-only flavour lacks. */
export type SqlMembers = 'exec' | 'prepare' | 'transaction' | 'inTransaction' | 'defaultSafeIntegers';

/** An open database (synchronous key-value API). */
export interface Tessera extends Omit<FullTessera, SqlMembers> {}
export declare class Tessera {
  /** Open (creating if missing) a database file. Throws LOCKED if this process has it open. */
  static open(path: string, options?: OpenOptions): Tessera;
  static memory(): Tessera;
  static openDevice(device: TesseraDevice, options?: OpenOptions): Tessera;
}
export default Tessera;
