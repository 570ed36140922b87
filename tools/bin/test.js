#!/usr/bin/env node
// `npm test`: everything a change must pass, in order, stopping at the first failure:
// format, lint, typecheck, build, unit and API tests, then the end-to-end suites against real
// processes and real Chromium.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const env = { ...process.env, NX_DAEMON: 'false', NEXT_TELEMETRY_DISABLED: '1', NX_TUI: 'false', NX_NO_CLOUD: 'true' };
const nx = (...targets) => ['nx', 'run-many', '-t', ...targets, '--outputStyle=stream', '--parallel=2'];
const steps = [
  ['format', ['prettier', '--check', '.']],
  ['lint and typecheck', nx('lint', 'typecheck')],
  ['structure (import cycles, feature boundaries)', ['node', 'tools/bin/check-structure.js']],
  ['build', nx('build')],
  ['unit and API tests', nx('test')],
  ['end-to-end tests', ['jest', '-c', 'e2e/jest.config.js', '--runInBand']],
];

const results = [];
for (const [name, args] of steps) {
  process.stdout.write(`\n=== ${name}: npx ${args.join(' ')}\n`);
  const started = Date.now();
  const r = spawnSync('npx', args, { cwd: root, env, stdio: 'inherit' });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  results.push(`${r.status === 0 ? 'ok    ' : 'FAILED'} ${name} (${seconds} s)`);
  if (r.status !== 0) {
    process.stdout.write(`\n${results.join('\n')}\n\nnpm test failed at: ${name}\n`);
    process.exit(r.status || 1);
  }
}
process.stdout.write(`\n${results.join('\n')}\n\nnpm test: all steps passed\n`);
