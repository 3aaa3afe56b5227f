// Notes: an offline-first page whose data lives in tessera-db (SQL) in the origin's OPFS.
//
// `Tessera.open('notes.db')` (the browser entry of tessera-db, mapped by the import map in
// index.html) starts a Worker that owns the file; every call below is one message to it and
// resolves when the worker has answered. Each write statement outside a transaction commits
// durably (flushed to OPFS) before its Promise resolves, so a reload or a closed tab loses
// nothing that the UI has shown as saved.
//
// One tab at a time: the worker holds the database's Web Lock. A second tab gets LOCKED, shows
// "open in another tab" and waits (lockTimeout) until the first tab closes or reloads, then
// carries on by itself.
//
// Offline: sw.js (a service worker, network first) keeps a copy of the page and the package
// files, so the page also loads with the server gone.

import { Tessera } from 'tessera-db';

const DB_NAME = 'notes.db';
/** A reload releases the previous page's lock a moment after the new page starts: wait that long before saying "locked". */
const RELOAD_GRACE_MS = 1500;
/** Then wait for the other tab for as long as setTimeout allows (about 24.8 days). */
const WAIT_FOREVER_MS = 2 ** 31 - 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS notes(
  id      INTEGER PRIMARY KEY,
  title   TEXT    NOT NULL,
  body    TEXT    NOT NULL DEFAULT '',
  done    INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL,          -- ms since the epoch
  updated INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS notes_by_updated ON notes(updated);
`;

const $ = (sel) => document.querySelector(sel);
const ui = {
  status: $('#status'),
  banner: $('#banner'),
  form: $('#new'),
  title: $('#title'),
  body: $('#body'),
  add: $('#add'),
  search: $('#search'),
  summary: $('#summary'),
  list: $('#list'),
  template: $('#note-template'),
};

let db = null;
const sql = {}; // prepared statements

function setState(state) {
  document.documentElement.dataset.state = state;
  const ready = state === 'ready';
  for (const el of [ui.title, ui.body, ui.add, ui.search]) el.disabled = !ready;
}

function showBanner(text, kind = 'info') {
  ui.banner.textContent = text;
  ui.banner.className = kind === 'error' ? 'error' : '';
  ui.banner.hidden = false;
}

function hideBanner() {
  ui.banner.hidden = true;
  ui.banner.textContent = '';
}

async function openDatabase() {
  try {
    return await Tessera.open(DB_NAME, { lockTimeout: RELOAD_GRACE_MS });
  } catch (e) {
    if (e.code !== 'LOCKED') throw e;
  }
  setState('locked');
  ui.status.textContent = 'Waiting for the other tab…';
  showBanner('Notes is open in another tab. Close it there and this tab will continue by itself.');
  const db = await Tessera.open(DB_NAME, { lockTimeout: WAIT_FOREVER_MS });
  hideBanner();
  return db;
}

async function start() {
  setState('loading');
  db = await openDatabase();
  await db.exec(SCHEMA);
  sql.list = await db.prepare(`
    SELECT id, title, body, done, updated FROM notes
    WHERE :pattern IS NULL OR title LIKE :pattern ESCAPE '\\' OR body LIKE :pattern ESCAPE '\\'
    ORDER BY done, updated DESC, id DESC`);
  sql.counts = await db.prepare('SELECT count(*) AS total, coalesce(sum(done), 0) AS done FROM notes');
  sql.insert = await db.prepare('INSERT INTO notes(title, body, created, updated) VALUES (:title, :body, :now, :now)');
  sql.toggle = await db.prepare('UPDATE notes SET done = 1 - done, updated = :now WHERE id = :id');
  sql.edit = await db.prepare('UPDATE notes SET title = :title, body = :body, updated = :now WHERE id = :id');
  sql.remove = await db.prepare('DELETE FROM notes WHERE id = ?');
  await refresh();
  setState('ready'); // the list is drawn: inputs on
  ui.title.focus();
}

/** `%text%` for LIKE, with LIKE's own wildcards in the text escaped; null for no search. */
function likePattern(text) {
  const t = text.trim();
  if (t === '') return null;
  return `%${t.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

let refreshSeq = 0;
/** Re-read the list (filtered by the search box) and the counts, and redraw. */
async function refresh() {
  const seq = ++refreshSeq;
  const pattern = likePattern(ui.search.value);
  const [rows, counts] = await Promise.all([sql.list.all({ pattern }), sql.counts.get()]);
  if (seq !== refreshSeq) return; // a newer refresh started meanwhile
  render(rows);
  const { total, done } = counts;
  ui.status.textContent = `${total} note${total === 1 ? '' : 's'} (${done} done), saved in OPFS as ${DB_NAME}`;
  ui.summary.textContent = pattern === null ? '' : `${rows.length} of ${total} match “${ui.search.value.trim()}”`;
}

function render(rows) {
  const items = rows.map((row) => {
    const li = ui.template.content.firstElementChild.cloneNode(true);
    li.dataset.id = String(row.id);
    li.classList.toggle('is-done', row.done !== 0);
    li.querySelector('.done').checked = row.done !== 0;
    li.querySelector('.title').textContent = row.title;
    li.querySelector('.body').textContent = row.body;
    const time = li.querySelector('.time');
    time.dateTime = new Date(row.updated).toISOString();
    time.textContent = new Date(row.updated).toLocaleString();
    return li;
  });
  ui.list.replaceChildren(...items);
}

/** Run a change, then redraw; errors go to the banner (the change was rolled back). */
async function change(fn) {
  try {
    await fn();
    hideBanner();
  } catch (e) {
    showBanner(`Could not save: ${e.message}`, 'error');
  }
  await refresh();
}

ui.form.addEventListener('submit', (event) => {
  event.preventDefault();
  const title = ui.title.value.trim();
  if (title === '') return;
  const body = ui.body.value.trim();
  change(async () => {
    await sql.insert.run({ title, body, now: Date.now() });
    ui.form.reset();
    ui.title.focus();
  });
});

let searchTimer = 0;
ui.search.addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => refresh().catch(fail), 80);
});

ui.list.addEventListener('change', (event) => {
  if (!event.target.matches('.done')) return;
  const id = Number(event.target.closest('.note').dataset.id);
  change(() => sql.toggle.run({ id, now: Date.now() }));
});

ui.list.addEventListener('click', (event) => {
  const li = event.target.closest('.note');
  if (!li) return;
  const id = Number(li.dataset.id);
  if (event.target.matches('.delete')) {
    change(() => sql.remove.run(id));
  } else if (event.target.matches('.edit')) {
    startEditing(li, id);
  } else if (event.target.matches('.save')) {
    const editor = li.querySelector('.editor');
    const title = editor.querySelector('.edit-title').value.trim();
    const body = editor.querySelector('.edit-body').value.trim();
    if (title === '') return;
    change(() => sql.edit.run({ id, title, body, now: Date.now() }));
  } else if (event.target.matches('.cancel')) {
    refresh().catch(fail);
  }
});

function startEditing(li, id) {
  const text = li.querySelector('.text');
  const editor = document.createElement('div');
  editor.className = 'editor';
  const title = document.createElement('input');
  title.className = 'edit-title';
  title.value = li.querySelector('.title').textContent;
  title.setAttribute('aria-label', 'Title');
  const body = document.createElement('textarea');
  body.className = 'edit-body';
  body.rows = 3;
  body.value = li.querySelector('.body').textContent;
  body.setAttribute('aria-label', 'Note');
  editor.append(title, body);
  text.replaceWith(editor);
  const actions = li.querySelector('.actions');
  const save = document.createElement('button');
  save.type = 'button';
  save.className = 'save';
  save.textContent = 'Save';
  const cancel = document.createElement('button');
  cancel.type = 'button';
  cancel.className = 'cancel';
  cancel.textContent = 'Cancel';
  actions.replaceChildren(save, cancel);
  li.dataset.editing = String(id);
  title.focus();
}

function fail(e) {
  console.error(e);
  setState('error');
  const hint = e?.code === 'UNSUPPORTED'
    ? ' This browser has no OPFS sync access handles (needs a recent Chrome, Edge, Firefox or Safari, over http://localhost or https).'
    : '';
  ui.status.textContent = 'Not available';
  showBanner(`The notes database could not be opened: ${e?.message ?? e}.${hint}`, 'error');
}

// The page works offline once it has been loaded (sw.js caches it; the data is in OPFS).
navigator.serviceWorker?.register('./sw.js').catch((e) => console.warn('no service worker:', e));

start().catch(fail);
