import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as yauzl from 'yauzl';
import * as yazl from 'yazl';
import { fsyncPath } from '@cacpq/db';

/**
 * Monthly archives (`CACPQ_YYYY-MM.zip`, as the guide's Compress-Archive writes them) through
 * yazl/yauzl: streaming, so a 500 MB database is never held in memory, and deflate runs on
 * zlib's thread pool rather than the event loop.
 */
export async function writeZip(
  target: string,
  files: { name: string; file: string }[],
  extra: Record<string, string>,
  onProgress?: (fraction: number) => void,
): Promise<void> {
  const zip = new yazl.ZipFile();
  const total = files.reduce((a, f) => a + fs.statSync(f.file).size, 0) || 1;
  let done = 0;
  for (const f of files) {
    // Counted on the way through; yazl reads each entry's stream only when its turn comes.
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        done += chunk.length;
        onProgress?.(done / total);
        cb(null, chunk);
      },
    });
    zip.addReadStream(fs.createReadStream(f.file, { highWaterMark: 1 << 20 }).pipe(counter), f.name, {
      mtime: fs.statSync(f.file).mtime,
      compress: true,
    });
  }
  for (const [name, text] of Object.entries(extra)) zip.addBuffer(Buffer.from(text), name, { compress: true });
  zip.end();
  await pipeline(zip.outputStream, fs.createWriteStream(target));
  fsyncPath(target);
}

function open(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, autoClose: false, validateEntrySizes: true }, (err, zip) => (err ? reject(err) : resolve(zip))),
  );
}

async function eachEntry(file: string, fn: (entry: yauzl.Entry, zip: yauzl.ZipFile) => Promise<void>): Promise<void> {
  const zip = await open(file);
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('entry', (entry: yauzl.Entry) => {
        fn(entry, zip).then(() => zip.readEntry(), reject);
      });
      zip.on('end', resolve);
      zip.on('error', reject);
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
}

function readStream(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<NodeJS.ReadableStream> {
  return new Promise((resolve, reject) => zip.openReadStream(entry, (err, s) => (err ? reject(err) : resolve(s))));
}

/**
 * Reads every entry through (CRC and sizes are checked by yauzl); with `expected`, the named
 * entries must be there with these sha256s. Returns a sentence when something is wrong.
 */
export async function verifyZip(file: string, expected: Record<string, string> = {}): Promise<{ problem: string | null }> {
  const seen: Record<string, string> = {};
  try {
    await eachEntry(file, async (entry, zip) => {
      if (entry.fileName.endsWith('/')) return;
      const hash = createHash('sha256');
      const s = await readStream(zip, entry);
      for await (const chunk of s as AsyncIterable<Buffer>) hash.update(chunk);
      seen[path.posix.basename(entry.fileName)] = hash.digest('hex');
    });
  } catch (err) {
    return { problem: (err as Error).message };
  }
  for (const [name, sha] of Object.entries(expected)) {
    if (!seen[name]) return { problem: `${name} is missing from the archive` };
    if (seen[name] !== sha) return { problem: `${name} in the archive does not match what was verified (sha256 differs)` };
  }
  return { problem: null };
}

/** Extracts the entries with these base names (first match each) into `dir`; returns their paths. */
export async function extractEntries(file: string, dir: string, names: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  await eachEntry(file, async (entry, zip) => {
    const base = path.posix.basename(entry.fileName.replace(/\\/g, '/'));
    if (entry.fileName.endsWith('/') || !names.includes(base) || out[base]) return;
    const target = path.join(dir, base);
    await pipeline(await readStream(zip, entry), fs.createWriteStream(target));
    out[base] = target;
  });
  return out;
}

/** Streams one entry (a download of a single file from a monthly archive). */
export async function entryStream(
  file: string,
  name: string,
): Promise<{ stream: NodeJS.ReadableStream; size: number; close(): void } | null> {
  const zip = await open(file);
  return new Promise((resolve, reject) => {
    let found = false;
    zip.on('entry', (entry: yauzl.Entry) => {
      if (path.posix.basename(entry.fileName) !== name) return zip.readEntry();
      found = true;
      zip.openReadStream(entry, (err, s) =>
        err ? reject(err) : resolve({ stream: s, size: entry.uncompressedSize, close: () => zip.close() }),
      );
    });
    zip.on('end', () => {
      if (!found) {
        zip.close();
        resolve(null);
      }
    });
    zip.on('error', reject);
    zip.readEntry();
  });
}

/** A zip of several files, streamed as it is built (downloads of a daily or weekly set). */
export function zipStream(files: { name: string; file: string }[]): NodeJS.ReadableStream {
  const zip = new yazl.ZipFile();
  // A file that cannot be read fails the output stream (and so the response), never the process.
  (zip as unknown as NodeJS.EventEmitter).on('error', (err: Error) => zip.outputStream.emit('error', err));
  for (const f of files) zip.addReadStream(fs.createReadStream(f.file), f.name, { compress: true, mtime: new Date() });
  zip.end();
  return zip.outputStream;
}
