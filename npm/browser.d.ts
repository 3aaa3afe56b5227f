// Types of the browser entry (src/browser.js), selected by the `browser` export condition.
export { BrowserTessera as Tessera, BrowserTessera as default } from './index.js';
export { BrowserStatement as Statement } from './index.js';
export type {
  Bytes, ErrorCode, TesseraError, OpenOptions, BrowserOpenOptions, RangeOptions, Entry, Stats,
  CheckReport, ReadOp, WriteOp, OpResult, SqlValue, SqlResult, SqlRow, BindParameters, RunResult,
} from './index.js';
