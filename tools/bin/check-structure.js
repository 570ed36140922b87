#!/usr/bin/env node
// The house rules a reviewer would otherwise have to remember, checked on every `npm test`:
// 1. no import cycle between files (apps, libs, tools);
// 2. no cycle between the API's feature folders (apps/api/src/<feature>/), so each Nest module
//    can be read, tested and replaced on its own;
// 3. a feature uses another only through what it offers: its module, its services, its public
//    types — never its controllers, gateways or private helpers.
const path = require('node:path');
const madge = require('madge');

const root = path.resolve(__dirname, '..', '..');
const api = path.join(root, 'apps', 'api', 'src');
// Cross-cutting folders every feature may use; they import no feature.
const SHARED = new Set(['common', 'config', 'events', 'store']);
// What a feature offers to others: its module, services and their types, and named public parts.
const OFFERED = [
  /\.module\.ts$/,
  /\.service\.ts$/,
  // sync: the workstations' pokes and clocks, refused changes, and the value rules restores apply too
  /^sync\/(sync-events|refusal-log|workstation-clocks|workstation-identity|row-values)\.ts$/,
  // schema: the synced tables in force, which the sync engine reads on its hot path
  /^schema\/table-specs\.ts$/,
  // maintenance: the mode sync and monitoring respect
  /^maintenance\/maintenance-mode\.ts$/,
  // auth: the guard, revocations, socket sign-in, password hashing and the session cookie's name
  /^auth\/(auth\.guard|revocations|socket-auth|passwords|cookies)\.ts$/,
  /^metrics\/sync-metrics\.ts$/,
  /^tls\/(tls-material|server-tls)\.ts$/,
];
const isTest = (f) => /\.spec\.ts$|(^|\/)testing\//.test(f);

function cycles(graph) {
  const found = [];
  const state = new Map();
  const stack = [];
  const visit = (n) => {
    state.set(n, 1);
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === 1) found.push([...stack.slice(stack.indexOf(m)), m]);
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 2);
  };
  for (const n of graph.keys()) if (!state.has(n)) visit(n);
  return found;
}

async function main() {
  const problems = [];
  const opts = {
    fileExtensions: ['ts', 'tsx'],
    tsConfig: path.join(root, 'tsconfig.base.json'),
    excludeRegExp: [/node_modules/, /\.next\//, /dist\//],
  };
  const all = await madge([path.join(root, 'apps', 'api', 'src'), path.join(root, 'libs'), path.join(root, 'tools', 'src')], {
    ...opts,
    baseDir: root,
  });
  for (const c of all.circular()) problems.push(`import cycle between files: ${c.join(' → ')}`);

  const apiGraph = (await madge(api, { ...opts, baseDir: api })).obj();
  const folders = new Map();
  for (const [file, deps] of Object.entries(apiGraph)) {
    if (isTest(file) || !file.includes('/')) continue;
    const from = file.split('/')[0];
    for (const dep of deps) {
      if (dep.startsWith('..') || !dep.includes('/')) continue;
      const to = dep.split('/')[0];
      if (to === from) continue;
      if (!folders.has(from)) folders.set(from, new Set());
      folders.get(from).add(to);
      if (SHARED.has(from) && !SHARED.has(to)) problems.push(`${file} is shared code but imports the feature ${to} (${dep})`);
      if (!SHARED.has(to) && !OFFERED.some((r) => r.test(dep))) {
        problems.push(`${file} reaches into ${to}'s internals (${dep}): use what ${to}'s module exports`);
      }
    }
  }
  for (const c of cycles(folders)) problems.push(`cycle between feature folders of apps/api/src: ${c.join(' → ')}`);

  if (problems.length) {
    process.stderr.write(`Structure check failed (${problems.length}):\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
    process.exit(1);
  }
  const edges = [...folders.values()].reduce((n, s) => n + s.size, 0);
  process.stdout.write(
    `structure: no file cycles (${Object.keys(all.obj()).length} files), ${folders.size} feature folders with ${edges} dependencies and no cycle, no reach into internals\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(2);
});
