// Type declarations for tessera-db. Hand-written; keep in step with src/*.js.
// This file types the Node entry (src/node.js) and declares the browser API (src/browser.js),
// which browser.d.ts re-exports under the name `Tessera` for the `browser` export condition.

/** Keys and values: bytes, or a string (encoded as UTF-8). */
export type Bytes = Uint8Array | string;

/** Every error thrown by tessera-db is an Error with one of these codes. */
export type ErrorCode =
  | 'IO' | 'LOCKED' | 'NOT_A_DATABASE' | 'UNSUPPORTED_VERSION' | 'CORRUPTED' | 'KEY_TOO_LARGE'
  | 'VALUE_TOO_LARGE' | 'TABLE_NOT_FOUND' | 'INVALID_TABLE_NAME' | 'INVALID_OPTIONS'
  | 'WRITE_IN_PROGRESS' | 'POISONED' | 'INVALID_ARGUMENT' | 'CLOSED' | 'BUSY'
  /** Browser only: no OPFS sync access handles / Workers here; the worker script failed. */
  | 'UNSUPPORTED' | 'WORKER_FAILED' | 'EOF' | 'INTERNAL';

export interface TesseraError extends Error {
  code: ErrorCode;
  /** Browser `read`/`write` batches: index of the operation that failed. */
  opIndex?: number;
}

export interface OpenOptions {
  /** Page size of a new database: a power of two in 4096..=65536 (default 4096). */
  pageSize?: number;
  /** Bytes the page cache may hold (default 64 MiB). */
  cacheSize?: number;
  /** Largest size of the in-file log (default 16 MiB). */
  maxLogSize?: number;
}

export interface RangeOptions {
  /** Largest key first. */
  reverse?: boolean;
  /** At most this many rows. */
  limit?: number;
  /** Rows fetched from wasm per call (default 256; a batch also ends after ~1 MiB). */
  batchSize?: number;
}

/** A row: key and value (views into one batch buffer; safe to keep). */
export type Entry = [key: Uint8Array, value: Uint8Array];

/** A storage device for `Tessera.openDevice` (offsets and lengths are byte numbers). */
export interface TesseraDevice {
  read(offset: number, buf: Uint8Array): void;
  write(offset: number, data: Uint8Array): void;
  sync(): void;
  len(): number;
  setLen(len: number): void;
}

export interface Stats {
  cacheHits: number; cacheMisses: number; pagesRead: number; pagesWritten: number;
  logBytesWritten: number; bytesSynced: number; syncs: number; commits: number;
  checkpoints: number; cacheBytes: number; cacheBudget: number; pageCount: number;
  freePages: number; pageSize: number;
}

export interface CheckReport {
  ok: boolean; pageCount: number; pagesChecked: number; freePages: number; tables: number;
  entries: number; leakedPages: number; errors: string[];
}

declare class TransactionBase {
  get(table: string, key: Bytes): Uint8Array | undefined;
  getString(table: string, key: Bytes): string | undefined;
  count(table: string): number;
  /** Rows with `start <= key < end` (null/undefined: unbounded). */
  range(table: string, start?: Bytes | null, end?: Bytes | null, options?: RangeOptions): Generator<Entry, void, undefined>;
  rangeBatches(table: string, start?: Bytes | null, end?: Bytes | null, options?: RangeOptions): Generator<Entry[], void, undefined>;
  entries(table: string, options?: RangeOptions): Generator<Entry, void, undefined>;
  listTables(): string[];
}

export class ReadTransaction extends TransactionBase {
  readonly txnId: number;
  close(): void;
}

export class WriteTransaction extends TransactionBase {
  put(table: string, key: Bytes, value: Bytes): void;
  delete(table: string, key: Bytes): boolean;
  deleteTable(table: string): boolean;
  setDurability(durability: 'immediate' | 'none'): void;
  readonly isOpen: boolean;
  commit(): void;
  abort(): void;
}

export class Tessera {
  /** Open (creating if missing) a database file. Throws LOCKED if this process has it open. */
  static open(path: string, options?: OpenOptions): Tessera;
  static memory(): Tessera;
  static openDevice(device: TesseraDevice, options?: OpenOptions): Tessera;
  beginRead(): ReadTransaction;
  beginWrite(): WriteTransaction;
  read<T>(fn: (tx: ReadTransaction) => T): T;
  write<T>(fn: (tx: WriteTransaction) => T): T;
  get(table: string, key: Bytes): Uint8Array | undefined;
  put(table: string, key: Bytes, value: Bytes): void;
  delete(table: string, key: Bytes): boolean;
  sync(): void;
  checkpoint(): void;
  compact(): { bytesBefore: number; bytesAfter: number };
  stats(): Stats;
  check(): CheckReport;
  readonly pageSize: number;
  readonly isClosed: boolean;
  close(): void;
}

/** The Node file device Tessera.open uses (exported for tests and custom setups). */
export class NodeFileDevice implements TesseraDevice {
  constructor(fd: number);
  read(offset: number, buf: Uint8Array): void;
  write(offset: number, data: Uint8Array): void;
  sync(): void;
  len(): number;
  setLen(len: number): void;
}


// ---------------------------------------------------------------------------------------------
// Browser (main thread): `import { Tessera } from 'tessera-db'` under the `browser` condition.

export interface BrowserOpenOptions extends OpenOptions {
  /** Wait up to this many ms for another tab/worker to close the database (default 0: LOCKED at once). */
  lockTimeout?: number;
  /** Where to load tessera_bg.wasm from (default: next to pkg/tessera.js). */
  wasm?: string | URL;
  /** Where to load the worker script from (default: src/worker.js next to src/browser.js). */
  workerUrl?: string | URL;
}

/** Operations of `db.read(ops)` (and `db.write(ops)`), with the result each yields. */
export type ReadOp =
  | { op: 'get'; table: string; key: Bytes }                 // Uint8Array | undefined
  | { op: 'getString'; table: string; key: Bytes }           // string | undefined
  | { op: 'count'; table: string }                           // number
  | { op: 'range'; table: string; start?: Bytes | null; end?: Bytes | null; reverse?: boolean; limit?: number; batchSize?: number } // Entry[]
  | { op: 'listTables' };                                    // string[]

/** Operations only `db.write(ops)` accepts. */
export type WriteOp =
  | ReadOp
  | { op: 'put'; table: string; key: Bytes; value: Bytes }   // undefined
  | { op: 'delete'; table: string; key: Bytes }              // boolean (was present)
  | { op: 'deleteTable'; table: string };                    // boolean (existed)

export type OpResult = Uint8Array | string | number | boolean | string[] | Entry[] | undefined;

/** A database in the origin's OPFS, run in a Worker the package starts. Every method is async. */
export class BrowserTessera {
  /**
   * Open (creating if missing) `name` ('app.db' or 'dir/app.db') in OPFS. Rejects with code
   * LOCKED if another tab or worker has it open (after waiting up to `lockTimeout` ms).
   */
  static open(name: string, options?: BrowserOpenOptions): Promise<BrowserTessera>;
  readonly name: string;
  readonly pageSize: number;
  readonly isClosed: boolean;
  /** One read snapshot, one message: the results of `ops`, in order. */
  read(ops: ReadOp[]): Promise<OpResult[]>;
  /** One write transaction, one message: committed after the last op, rolled back if any fails. */
  write(ops: WriteOp[], options?: { durability?: 'immediate' | 'none' }): Promise<OpResult[]>;
  get(table: string, key: Bytes): Promise<Uint8Array | undefined>;
  getString(table: string, key: Bytes): Promise<string | undefined>;
  put(table: string, key: Bytes, value: Bytes): Promise<void>;
  delete(table: string, key: Bytes): Promise<boolean>;
  deleteTable(table: string): Promise<boolean>;
  count(table: string): Promise<number>;
  listTables(): Promise<string[]>;
  /** Rows with `start <= key < end` (null/undefined: unbounded). */
  range(table: string, start?: Bytes | null, end?: Bytes | null, options?: RangeOptions): Promise<Entry[]>;
  entries(table: string, options?: RangeOptions): Promise<Entry[]>;
  sync(): Promise<void>;
  checkpoint(): Promise<void>;
  compact(): Promise<{ bytesBefore: number; bytesAfter: number }>;
  stats(): Promise<Stats>;
  check(): Promise<CheckReport>;
  /** Close the database (releasing the file and its lock) and stop the worker. Idempotent. */
  close(): Promise<void>;
}

export default Tessera;
