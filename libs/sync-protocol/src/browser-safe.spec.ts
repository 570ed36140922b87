import * as fs from 'node:fs';
import * as path from 'node:path';

// The contract is imported by the dashboard in the browser: it may import only zod and its own
// files. Node's modules, better-sqlite3, undici, socket.io-client and the SDK (`@cacpq/sync-client`)
// belong to the workstation SDK. (The lint rule for libs/sync-protocol says the same for editors.)
const ALLOWED = new Set(['zod']);

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sources(full);
    return /\.tsx?$/.test(e.name) && !/\.spec\.tsx?$/.test(e.name) ? [full] : [];
  });
}

/** Every module a file imports or re-exports, statically or dynamically, or requires. */
function imported(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) found.push(m[1]);
  return found;
}

describe('the contract is browser-safe', () => {
  const files = sources(__dirname);

  it('has sources to check', () => {
    expect(files.length).toBeGreaterThan(5);
  });

  it.each(files.map((f) => [path.relative(__dirname, f), f]))('%s imports only zod and the contract itself', (_name, file) => {
    const outside = imported(fs.readFileSync(file, 'utf8')).filter((m) => !m.startsWith('./') && !m.startsWith('../') && !ALLOWED.has(m));
    expect(outside).toEqual([]);
  });

  it('keeps its relative imports inside libs/sync-protocol/src', () => {
    for (const file of files) {
      for (const m of imported(fs.readFileSync(file, 'utf8')).filter((x) => x.startsWith('.'))) {
        expect(path.resolve(path.dirname(file), m).startsWith(__dirname)).toBe(true);
      }
    }
  });

  it('finds a Node-only import when there is one', () => {
    const text = `import * as fs from 'node:fs';\nimport Database from 'better-sqlite3';\nexport { x } from 'undici';\nconst io = require('socket.io-client');\nimport { z } from 'zod';`;
    expect(imported(text)).toEqual(['node:fs', 'better-sqlite3', 'undici', 'zod', 'socket.io-client']);
  });
});
