import * as fs from 'node:fs';
import * as path from 'node:path';

/** The project's version, from the root package.json (found from source or from dist). */
function readVersion(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (!fs.existsSync(file)) continue;
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'cacpq-sync-server') return pkg.version ?? '0.0.0';
  }
  return '0.0.0';
}

export const SERVER_VERSION = readVersion();
