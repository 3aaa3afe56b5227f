// Type declarations for tessera-db. Hand-written; keep in step with src/*.js.
// This file types the Node entry (src/node.js) and declares the browser API (src/browser.js),
// which browser.d.ts re-exports under the name `Tessera` for the `browser` export condition.

/** Keys and values: bytes, or a string (encoded as UTF-8). */
export type Bytes = Uint8Array | string;

/** Every error thrown by tessera-db is an Error with one of these codes. */
export type ErrorCode =
  | 'IO' | 'LOCKED' | 'NOT_A_DATABASE' | 'UNSUPPORTED_VERSION' | 'CORRUPTED' | 'KEY_TOO_LARGE'
  | 'VALUE_TOO_LARGE' | 'TABLE_NOT_FOUND' | 'INVALID_TABLE_NAME' | 'INVALID_OPTIONS'
  /** A key-value write (put, delete, deleteTable...) named a table of the SQL layer: table
   *  names starting with `sql:` are reserved for it (reading them is allowed). */
  | 'RESERVED_TABLE_NAME'
  /** A write (or checkpoint, compact) on a database open read-only. */
  | 'READ_ONLY'
  | 'WRITE_IN_PROGRESS' | 'POISONED' | 'INVALID_ARGUMENT' | 'CLOSED' | 'BUSY'
  /** SQL: text that does not parse (with offset/line/column); a statement that cannot run; a
   *  failed UNIQUE / PRIMARY KEY / NOT NULL / CHECK constraint. */
  | 'SQL_SYNTAX' | 'SQL' | 'CONSTRAINT'
  /** Browser only: no OPFS sync access handles / Workers here; the worker script failed. */
  | 'UNSUPPORTED' | 'WORKER_FAILED' | 'EOF' | 'INTERNAL';

export interface TesseraError extends Error {
  code: ErrorCode;
  /** Browser `read`/`write` batches: index of the operation that failed. */
  opIndex?: number;
  /** SQL_SYNTAX: byte offset (UTF-8) of the error in the SQL text given. */
  offset?: number;
  /** SQL_SYNTAX: 1-based line of the error. */
  line?: number;
  /** SQL_SYNTAX: 1-based column (in characters) of the error. */
  column?: number;
}

export interface OpenOptions {
  /** SQL: every INTEGER as a bigint (default for `db.prepare`; see `Statement.safeIntegers`). */
  safeIntegers?: boolean;
  /** Page size of a new database: a power of two in 4096..=65536 (default 4096). */
  pageSize?: number;
  /** Bytes the page cache may hold (default 64 MiB). */
  cacheSize?: number;
  /** Largest size of the in-file log (default 16 MiB). */
  maxLogSize?: number;
}

/** Options of `Tessera.open` in Node (a file on disk). */
export interface NodeOpenOptions extends OpenOptions {
  /**
   * Wait up to this many ms for another handle, worker thread or process (Node or native, the
   * `tessera` tool included) to close the file (default 0: LOCKED at once).
   */
  timeout?: number;
  /** Alias of `timeout` (the browser's name). */
  lockTimeout?: number;
  /**
   * Open an existing file read-only (never created), sharing it with other read-only openers;
   * read-write openers are kept out and keep it out. Nothing is ever written: commits still in
   * the file's log are replayed in memory. (A file that cannot be opened for writing — its
   * permissions, a read-only file system — opens read-only without asking; see
   * `recoveryReport().openedReadOnly`.)
   */
  readonly?: boolean;
  /**
   * Open a damaged database with what can still be read (default false: damage that may have
   * cost acknowledged commits throws CORRUPTED naming them). `recoveryReport().salvaged` says
   * what was given up; the first write makes that the database's state.
   */
  salvage?: boolean;
}

/** What opening a database found (`db.recoveryReport()`). */
export interface RecoveryReport {
  /** Commits read from the log and replayed into memory. */
  framesReplayed: number;
  /** Whole log frames past the end of the log: commits a crash cut off before their sync. */
  framesSkipped: number;
  /** The file's format version when it was older (upgraded, or read as it is read-only). */
  upgradedFrom: number | null;
  /** Damage that cost no commit (a damaged commit-slot copy, a file cut after its log...). */
  harmlessDamage: string[];
  /** With `salvage`: the damage opened despite, and what was given up. */
  salvaged: string | null;
  /** Why a file that could not be opened for writing was opened read-only. */
  openedReadOnly: string | null;
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
  freePages: number; deltaBytes: number; pageSize: number;
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

// ---------------------------------------------------------------------------------------------
// SQL (better-sqlite3 conventions)

/**
 * A value bound to a parameter: a number (integral → INTEGER, else REAL; NaN → NULL), a bigint
 * (INTEGER, must fit in 64 bits), a string (TEXT), bytes (BLOB: Uint8Array/Buffer, any
 * ArrayBufferView, ArrayBuffer), a boolean (1/0), null or undefined (NULL).
 */
export type SqlValue = number | bigint | string | boolean | null | undefined | Uint8Array | ArrayBufferView | ArrayBuffer;

/**
 * A value read back: INTEGER → number (a bigint beyond ±(2^53-1), or always with
 * `safeIntegers`), REAL → number, TEXT → string, BLOB → Uint8Array (a copy), NULL → null.
 */
export type SqlResult = number | bigint | string | Uint8Array | null;

/**
 * Arguments of run/get/all/iterate: values for the positional parameters (`?`, `?NNN`), arrays
 * of them, and at most one plain object whose keys (without the `:`/`@`/`$` prefix) name the
 * named parameters. Named parameters with no object bind by position.
 */
export type BindParameters = SqlValue | SqlValue[] | { [name: string]: SqlValue };

/** A row as an object keyed by column name (duplicate names: the last one wins). */
export type SqlRow = { [column: string]: SqlResult };

export interface RunResult {
  /** Rows inserted, updated or deleted by the statement (0 for other statements). */
  changes: number;
  /** Rowid of the last row inserted on this connection (bigint beyond 2^53 or with safeIntegers). */
  lastInsertRowid: number | bigint;
}

/**
 * A prepared statement. `Row` types the rows (`db.prepare<{ id: number }>(sql)`); after
 * `.raw()` / `.pluck()` rows are arrays / single values, so type them accordingly
 * (`db.prepare<[number, string]>(sql).raw()`).
 */
export class Statement<Row = SqlRow> {
  /** The SQL text. */
  readonly source: string;
  /** Whether the statement returns rows (a query, or INSERT/UPDATE/DELETE ... RETURNING). */
  readonly reader: boolean;
  readonly database: Tessera;
  /** Run the statement. */
  run(...params: BindParameters[]): RunResult;
  /** The first row, or undefined. Throws TypeError (INVALID_ARGUMENT) if `!reader`. */
  get(...params: BindParameters[]): Row | undefined;
  /** Every row. */
  all(...params: BindParameters[]): Row[];
  /**
   * The rows one by one (fetched from wasm in batches). The statement is busy (BUSY) until the
   * iteration ends or is broken out of; if it reads inside an open transaction, so is the
   * whole connection. Outside a transaction it reads its own snapshot.
   */
  iterate(...params: BindParameters[]): IterableIterator<Row>;
  /** Rows as arrays of values (`raw(false)`: objects again). */
  raw(toggle?: boolean): this;
  /** Only the first column's value per row. */
  pluck(toggle?: boolean): this;
  /** Every INTEGER as a bigint. */
  safeIntegers(toggle?: boolean): this;
  /**
   * Result column names. A query that has not run yet is started (reading no rows) to learn
   * them; a write with RETURNING has them only after it ran ([] before).
   */
  columns(): string[];
  /** Free the statement's wasm memory now (later calls throw CLOSED). Idempotent. */
  finalize(): void;
}

/** What `db.transaction(fn)` returns: calls `fn` inside BEGIN ... COMMIT (ROLLBACK if it throws). */
export interface Transaction<F extends (...args: any[]) => any> {
  (...args: Parameters<F>): ReturnType<F>;
  /** better-sqlite3's variants; here all the same (there is one writer). */
  deferred(...args: Parameters<F>): ReturnType<F>;
  immediate(...args: Parameters<F>): ReturnType<F>;
  exclusive(...args: Parameters<F>): ReturnType<F>;
}

export class Tessera {
  /**
   * Open (creating if missing) a database file. Throws LOCKED if another handle, worker thread
   * or process (Node or native) has it open, after waiting up to `options.timeout` ms.
   */
  static open(path: string, options?: NodeOpenOptions): Tessera;
  static memory(options?: { safeIntegers?: boolean }): Tessera;
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
  /** What opening the database found and did. */
  recoveryReport(): RecoveryReport;
  /** Whether the database is open read-only (writes throw READ_ONLY). */
  readonly readonly: boolean;
  readonly pageSize: number;
  readonly isClosed: boolean;
  /** Abort open transactions (SQL and key-value), release the file. Idempotent. */
  close(): void;

  // SQL
  /** Run every statement in `sql`. Returns the database. */
  exec(sql: string): this;
  /** Prepare one statement. Syntax errors throw here (SQL_SYNTAX); unknown tables and columns
   *  when it first runs (SQL). */
  prepare<Row = SqlRow>(sql: string): Statement<Row>;
  /**
   * Wrap `fn` in a transaction: BEGIN, `fn(...args)`, COMMIT; ROLLBACK and re-throw if it
   * throws. Inside an already open transaction it just runs `fn` (no savepoints). `fn` must not
   * return a Promise.
   */
  transaction<F extends (...args: any[]) => any>(fn: F): Transaction<F>;
  /** Whether a SQL transaction (BEGIN) is open. */
  readonly inTransaction: boolean;
  /** `safeIntegers` default for statements prepared from now on. */
  defaultSafeIntegers(toggle?: boolean): this;
}

/** The Node file device Tessera.open uses (exported for tests and custom setups). */
export class NodeFileDevice implements TesseraDevice {
  /** `readOnly`: write, sync and setLen throw. */
  constructor(fd: number, options?: { readOnly?: boolean });
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
  /** Where to load tessera_bg.wasm from (default: next to pkg/tessera.js; 'tessera-db/kv':
   *  tessera_kv_bg.wasm next to pkg/tessera_kv.js). */
  wasm?: string | URL;
  /** Where to load the worker script from (default: worker.js next to browser.js;
   *  'tessera-db/kv': worker-kv.js next to browser-kv.js). */
  workerUrl?: string | URL;
  /** On a cross-origin isolated page (COOP + COEP headers), gets, puts, deletes and ranges go
   *  to the worker through a SharedArrayBuffer instead of messages (default true; false: always
   *  messages). */
  sharedChannel?: boolean;
  /** With the shared channel: how long (µs) a call busy-waits for the worker's answer before
   *  waiting asynchronously (default 50; 0: never busy-wait). */
  spinMicros?: number;
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

/** A prepared statement of the browser main-thread API: it lives in the worker. */
export class BrowserStatement<Row = SqlRow> {
  readonly source: string;
  readonly reader: boolean;
  readonly database: BrowserTessera;
  run(...params: BindParameters[]): Promise<RunResult>;
  get(...params: BindParameters[]): Promise<Row | undefined>;
  /** Every row, in one message. */
  all(...params: BindParameters[]): Promise<Row[]>;
  /**
   * `for await (const row of st.iterate())`: rows arrive in batches (one message each). The
   * statement is busy in the worker until the iteration ends or is broken out of.
   */
  iterate(...params: BindParameters[]): AsyncIterableIterator<Row>;
  raw(toggle?: boolean): this;
  pluck(toggle?: boolean): this;
  safeIntegers(toggle?: boolean): this;
  columns(): Promise<string[]>;
  /** Free it in the worker (also done, eventually, when it is garbage-collected). */
  finalize(): Promise<void>;
}

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

  // SQL: as the synchronous API, every call a Promise answered by the worker.
  exec(sql: string): Promise<this>;
  prepare<Row = SqlRow>(sql: string): Promise<BrowserStatement<Row>>;
  /**
   * `await db.transaction(async (...args) => { ... })(...args)`: BEGIN, `await fn(...args)`,
   * COMMIT, or ROLLBACK and re-throw. If a transaction is already open it just runs `fn`.
   * There is one connection: calls made from anywhere while it is open run inside it.
   */
  transaction<A extends unknown[], R>(fn: (...args: A) => R | Promise<R>): (...args: A) => Promise<R>;
  /** Whether a SQL transaction is open, as of the last reply from the worker. */
  readonly inTransaction: boolean;
  defaultSafeIntegers(toggle?: boolean): this;
}

export default Tessera;
