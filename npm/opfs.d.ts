// Types of 'tessera-db/opfs' (src/opfs.js): the synchronous API inside your own dedicated Worker.
import type { OpenOptions, TesseraDevice } from './index.js';
import { Tessera as SyncTessera } from './index.js';
export type {
  Bytes, ErrorCode, TesseraError, OpenOptions, RangeOptions, Entry, TesseraDevice, Stats, CheckReport,
  SqlValue, SqlResult, SqlRow, BindParameters, RunResult, Transaction,
} from './index.js';

export interface OpfsOpenOptions extends OpenOptions {
  /** Wait up to this many ms for another tab/worker to close the database (default 0: LOCKED at once). */
  lockTimeout?: number;
  /** Where to load tessera_bg.wasm ('tessera-db/kv/opfs': tessera_kv_bg.wasm) from, or its
   *  bytes / compiled module. */
  wasm?: string | URL | BufferSource | WebAssembly.Module;
}

/** Load the wasm module (once). `Tessera.open`/`memory` call it themselves. */
export function initWasm(wasm?: string | URL | BufferSource | WebAssembly.Module): Promise<void>;

/** The parts of a `FileSystemSyncAccessHandle` (lib "webworker") that OpfsDevice uses. */
export interface SyncAccessHandleLike {
  read(buffer: Uint8Array, options?: { at?: number }): number;
  write(buffer: Uint8Array, options?: { at?: number }): number;
  flush(): void;
  getSize(): number;
  truncate(size: number): void;
}

/** A device over a FileSystemSyncAccessHandle. */
export class OpfsDevice implements TesseraDevice {
  constructor(handle: SyncAccessHandleLike);
  read(offset: number, buf: Uint8Array): void;
  write(offset: number, data: Uint8Array): void;
  sync(): void;
  len(): number;
  setLen(len: number): void;
}

/** Synchronous database API; only `open` and `memory` are async (handle, lock, wasm load). */
export interface Tessera extends SyncTessera {}
export declare class Tessera {
  static open(name: string, options?: OpfsOpenOptions): Promise<Tessera>;
  static memory(options?: { wasm?: string | URL | BufferSource | WebAssembly.Module; safeIntegers?: boolean }): Promise<Tessera>;
  /** After `await initWasm()`. */
  static openDevice(device: TesseraDevice, options?: OpenOptions): Tessera;
}
export { ReadTransaction, WriteTransaction, Statement } from './index.js';
export default Tessera;
