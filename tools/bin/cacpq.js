#!/usr/bin/env node
// `npx cacpq …`: runs the compiled command line, building it first on a fresh clone.
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.resolve(__dirname, '..', '..');
const entry = path.join(root, 'dist', 'tools', 'tools', 'src', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('cacpq: building the command line first (one time)…\n');
  const bin = (name) => path.join(root, 'node_modules', '.bin', name);
  execFileSync(bin('tsc'), ['-p', 'tools/tsconfig.app.json'], { cwd: root, stdio: 'inherit' });
  execFileSync(bin('tsc-alias'), ['-p', 'tools/tsconfig.app.json'], { cwd: root, stdio: 'inherit' });
}
require(entry)
  .run(process.argv.slice(2))
  .then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`cacpq failed: ${(err && err.stack) || err}\n`);
      process.exit(1);
    },
  );
