// Types of 'tessera-db/kv/opfs' (src/opfs-kv.js): the synchronous key-value API of the
// engine-only flavour inside your own dedicated Worker, without the SQL methods.
import type { OpenOptions, TesseraDevice } from './index.js';
import type { OpfsOpenOptions, Tessera as FullOpfsTessera } from './opfs.js';
import type { SqlMembers } from './kv.js';
export type {
  Bytes, ErrorCode, TesseraError, OpenOptions, RangeOptions, Entry, TesseraDevice, Stats, CheckReport,
} from './index.js';
export type { OpfsOpenOptions, SyncAccessHandleLike } from './opfs.js';
export { OpfsDevice, initWasm, ReadTransaction, WriteTransaction } from './opfs.js';

/** Synchronous key-value API; only `open` and `memory` are async (handle, lock, wasm load). */
export interface Tessera extends Omit<FullOpfsTessera, SqlMembers> {}
export declare class Tessera {
  /** `options.wasm`: where to load tessera_kv_bg.wasm from, or its bytes / compiled module. */
  static open(name: string, options?: OpfsOpenOptions): Promise<Tessera>;
  static memory(options?: { wasm?: string | URL | BufferSource | WebAssembly.Module }): Promise<Tessera>;
  /** After `await initWasm()`. */
  static openDevice(device: TesseraDevice, options?: OpenOptions): Tessera;
}
export default Tessera;
