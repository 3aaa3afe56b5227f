// Types of 'tessera-db/kv' under the `browser` condition (src/browser-kv.js): the main-thread
// Promise API of the engine-only flavour, without the SQL methods.
import type { BrowserOpenOptions, BrowserTessera } from './index.js';
import type { SqlMembers } from './kv.js';
export type {
  Bytes, ErrorCode, TesseraError, OpenOptions, BrowserOpenOptions, RangeOptions, Entry, Stats,
  CheckReport, ReadOp, WriteOp, OpResult,
} from './index.js';

/** A database in the origin's OPFS, run in a Worker the package starts. Every method is async. */
export interface Tessera extends Omit<BrowserTessera, SqlMembers> {}
export declare class Tessera {
  /**
   * Open (creating if missing) `name` ('app.db' or 'dir/app.db') in OPFS. Rejects with code
   * LOCKED if another tab or worker has it open (after waiting up to `lockTimeout` ms). The
   * `wasm` option points at tessera_kv_bg.wasm (default: next to pkg/tessera_kv.js).
   */
  static open(name: string, options?: BrowserOpenOptions): Promise<Tessera>;
}
export default Tessera;
