// Shared test helpers: temporary directories, the reference dataset of the portability test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

// The package under test: the source tree by default. run-tests.sh installs the `npm pack`
// tarball into a fresh folder and points TESSERA_DB_ENTRY at a module there that re-exports
// 'tessera-db' (resolved through the package's `exports`), so the packed package is what runs.
const entry = process.env.TESSERA_DB_ENTRY ? pathToFileURL(process.env.TESSERA_DB_ENTRY).href : '../src/node.js';
export const { Tessera, NodeFileDevice } = await import(entry);
// The engine-only flavour ('tessera-db/kv'), the same way (TESSERA_DB_KV_ENTRY re-exports it).
export const kvEntry = process.env.TESSERA_DB_KV_ENTRY ? pathToFileURL(process.env.TESSERA_DB_KV_ENTRY).href : '../src/node-kv.js';

export function tempDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-db-test-'));
  return { dir, file: (name) => path.join(dir, name), cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export const enc = (s) => new TextEncoder().encode(s);
export const dec = (b) => new TextDecoder().decode(b);

/** Writes the dataset `native-helper write` writes (keep the two in step). */
export function writeReferenceDataset(db) {
  db.write((tx) => {
    for (let i = 0; i < 3000; i++) {
      const key = `key-${String(i).padStart(6, '0')}`;
      tx.put('items', key, `value-${i}-`.repeat((i % 7) + 1));
    }
    for (let i = 0; i < 3000; i += 10) tx.delete('items', `key-${String(i).padStart(6, '0')}`);
    const big = new Uint8Array(300_000);
    for (let i = 0; i < big.length; i++) big[i] = Math.imul(i, 31) % 251;
    tx.put('blobs', 'big', big);
    tx.put('blobs', new Uint8Array([0, 255, 1]), new Uint8Array(0));
  });
}

const hex = (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Same format as `native-helper dump`: TABLE\tKEY-HEX\tVALUE-HEX per entry. */
export function dump(db) {
  return db.read((rx) => {
    let out = '';
    for (const name of rx.listTables()) {
      for (const [k, v] of rx.entries(name)) out += `${name}\t${hex(k)}\t${hex(v)}\n`;
    }
    return out;
  });
}
