#!/usr/bin/env node
// `npm run screenshots`: copies the page screenshots the browser tests saved (e2e/artifacts, after
// `npm test` or `npm run test:e2e`) into docs/screenshots, which the README shows. Fails, naming
// them, when any is missing, so the README never shows a stale or absent page.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const from = path.join(root, 'e2e', 'artifacts');
const to = path.join(root, 'docs', 'screenshots');
const PAGES = [
  'login',
  'overview',
  'sync',
  'conflicts',
  'refused-all',
  'growth',
  'activity',
  'backups',
  'backup-progress',
  'restore-preview',
  'maintenance',
  'maintenance-mode',
  'alerts',
  'audit',
  'settings',
  'accounts',
];

const missing = PAGES.filter((p) => !fs.existsSync(path.join(from, `${p}.png`)));
if (missing.length) {
  console.error(`Not in e2e/artifacts (run the browser tests first: npm run test:e2e): ${missing.map((p) => `${p}.png`).join(', ')}`);
  process.exit(1);
}
fs.mkdirSync(to, { recursive: true });
for (const p of PAGES) fs.copyFileSync(path.join(from, `${p}.png`), path.join(to, `${p}.png`));
console.log(`Copied ${PAGES.length} screenshots to docs/screenshots.`);
