#!/usr/bin/env node
// Summarise V8 CPU profiles (.cpuprofile, from `node --cpu-prof`, bench/node/compare.mjs
// --cpu-prof=DIR or bench/run.mjs --profile=DIR): the functions with the most self time, and
// optionally the time spent under (inclusive) functions matching a pattern.
//
//   node bench/profile-top.mjs FILE.cpuprofile [--top=25] [--under=regex,regex...]
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export function summarise(profile, { topN = 25, under = [] } = {}) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (f) => `${f.functionName || '(anonymous)'}${f.url ? ` ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}` : ''}`;
  const self = new Map();
  const incl = new Map(under.map((u) => [u, 0]));
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0; // a sample's time is the gap to the next one
    total += dt;
    const node = byId.get(profile.samples[i]);
    const key = label(node.callFrame);
    self.set(key, (self.get(key) ?? 0) + dt);
    if (under.length) {
      const seen = new Set();
      for (let id = node.id; id !== undefined; id = parent.get(id)) {
        const l = label(byId.get(id).callFrame);
        for (const u of under) if (!seen.has(u) && new RegExp(u).test(l)) { seen.add(u); incl.set(u, incl.get(u) + dt); }
      }
    }
  }
  const pct = (us) => `${((100 * us) / total).toFixed(1).padStart(5)}% ${(us / 1000).toFixed(0).padStart(6)} ms`;
  const lines = [`total ${(total / 1000).toFixed(0)} ms sampled; top self time:`];
  for (const [k, us] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, topN)) lines.push(`  ${pct(us)}  ${k}`);
  if (under.length) {
    lines.push('inclusive time under:');
    for (const [u, us] of incl) lines.push(`  ${pct(us)}  /${u}/`);
  }
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const files = args.filter((a) => !a.startsWith('--'));
  const opt = Object.fromEntries(args.filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=')));
  const top = Number(opt.top ?? 25);
  if (files.length === 0) {
    console.error('usage: node bench/profile-top.mjs FILE.cpuprofile... [--top=25] [--under=regex,...]');
    process.exit(2);
  }
  for (const f of files) {
    console.log(`== ${f}`);
    console.log(summarise(JSON.parse(fs.readFileSync(f, 'utf8')), { topN: top, under: opt.under ? opt.under.split(',') : [] }));
  }
}
