// Type declarations for tessera-db (Node entry). Hand-written; keep in step with src/*.js.

/** Keys and values: bytes, or a string (encoded as UTF-8). */
export type Bytes = Uint8Array | string;

/** Every error thrown by tessera-db is an Error with one of these codes. */
export type ErrorCode =
  | 'IO' | 'LOCKED' | 'NOT_A_DATABASE' | 'UNSUPPORTED_VERSION' | 'CORRUPTED' | 'KEY_TOO_LARGE'
  | 'VALUE_TOO_LARGE' | 'TABLE_NOT_FOUND' | 'INVALID_TABLE_NAME' | 'INVALID_OPTIONS'
  | 'WRITE_IN_PROGRESS' | 'POISONED' | 'INVALID_ARGUMENT' | 'CLOSED' | 'BUSY';

export interface TesseraError extends Error {
  code: ErrorCode;
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

export default Tessera;
