// The same file format everywhere: a database written by the native crate opens in Node (wasm)
// with identical contents, and the reverse. Uses the native helper in ./native-helper.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Tessera, tempDir, writeReferenceDataset, dump } from './helpers.js';

const manifest = fileURLToPath(new URL('./native-helper/Cargo.toml', import.meta.url));

function native(...args) {
  return execFileSync('cargo', ['run', '--quiet', '--release', '--manifest-path', manifest, '--', ...args], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

test('native-written file opens in Node with identical contents, and the reverse', { timeout: 600_000 }, () => {
  const t = tempDir();
  try {
    // Expected contents: the dataset built in Node in memory.
    const mem = Tessera.memory();
    writeReferenceDataset(mem);
    const expected = dump(mem);
    mem.close();
    assert.ok(expected.split('\n').length > 2700);

    // Native → Node.
    native('write', t.file('native.db'));
    const db = Tessera.open(t.file('native.db'));
    assert.equal(dump(db), expected);
    assert.equal(db.check().ok, true);
    // Node appends to the native file; native sees it.
    db.put('extra', 'from', 'node');
    const after = dump(db);
    db.close();
    assert.ok(after.includes(`extra\t${Buffer.from('from').toString('hex')}\t${Buffer.from('node').toString('hex')}\n`));
    assert.equal(native('dump', t.file('native.db')), after);

    // Node → native.
    const db2 = Tessera.open(t.file('node.db'));
    writeReferenceDataset(db2);
    db2.close();
    assert.equal(native('dump', t.file('node.db')), expected);
  } finally {
    t.cleanup();
  }
});
