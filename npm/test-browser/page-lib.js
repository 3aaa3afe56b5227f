// Helpers loaded into the test pages (window.*): the reference dataset and its verification,
// through the page's `window.Tessera` (page.html: the full flavour, src/browser.js; kv-page.html:
// the engine-only one, src/browser-kv.js), so this module loads neither itself.
const Tessera = { open: (...args) => window.Tessera.open(...args) };

export const enc = (s) => new TextEncoder().encode(s);
export const dec = (b) => (b === undefined ? undefined : new TextDecoder().decode(b));

const bigValue = () => new Uint8Array(200000).map((_, i) => (i * 31) % 251);

/** Write the reference dataset into `name`; resolves to the (still open) database. */
export async function writeData(name, options) {
  const db = await Tessera.open(name, options);
  const ops = [];
  for (let i = 0; i < 2000; i++) ops.push({ op: 'put', table: 'items', key: `key-${String(i).padStart(5, '0')}`, value: `value-${i}-`.repeat((i % 5) + 1) });
  ops.push({ op: 'put', table: 'blobs', key: 'big', value: bigValue() });
  await db.write(ops);
  await db.delete('items', 'key-00007');
  return db;
}

/** Open `name`, summarise its contents (compare with `expectedData`), close it. */
export async function verifyData(name, options) {
  const db = await Tessera.open(name, options);
  try {
    const [count, last, v7, big, first] = await db.read([
      { op: 'count', table: 'items' },
      { op: 'getString', table: 'items', key: 'key-01999' },
      { op: 'get', table: 'items', key: 'key-00007' },
      { op: 'get', table: 'blobs', key: 'big' },
      { op: 'range', table: 'items', limit: 2 },
    ]);
    const want = bigValue();
    const bigOk = big !== undefined && big.length === want.length && big.every((b, i) => b === want[i]);
    const check = await db.check();
    return { count, last, v7: v7 === undefined ? 'absent' : 'present', bigOk, first: first.map(([k]) => dec(k)), checkOk: check.ok };
  } finally {
    await db.close();
  }
}

export const expectedData = { count: 1999, last: 'value-1999-'.repeat(5), v7: 'absent', bigOk: true, first: ['key-00000', 'key-00001'], checkOk: true };
