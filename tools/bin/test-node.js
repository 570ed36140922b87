#!/usr/bin/env node
// `npm run test:node -- 22 [24 …]`: the unit and API suites under another Node.js major, without
// touching this checkout's node_modules (better-sqlite3 is compiled for the Node that installed it).
//
// For each major: installs the official Node binary from the npm registry (package
// node-<platform>-<arch>, the one the `node` package pulls) into a temporary prefix, copies the
// repository's tracked files (working-tree content) into a temporary directory, runs `npm ci` there
// with that Node first on PATH and npm_config_nodedir pointing at the headers shipped in the same
// package (native modules build offline, for that Node's ABI), then runs every project's `test`
// target, as `npm test` does. The end-to-end suites are not run here.
//
// Options: --keep (leave the temporary directories for a look), --untracked (also copy untracked,
// not-ignored files: work in progress), --head (the last commit instead, `git archive HEAD`: a
// consistent state while work in progress is half-way). On a clean clone the three are the same.
// TEST_NODE_TMP sets the parent of the temporary directories.
const { spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const args = process.argv.slice(2);
const keep = args.includes('--keep');
const untracked = args.includes('--untracked');
const head = args.includes('--head');
const majors = args.filter((a) => !a.startsWith('--'));
if (majors.length === 0) majors.push('22');
for (const m of majors) {
  if (!/^\d+$/.test(m)) {
    console.error(`Usage: test-node.js [--keep] [--untracked | --head] MAJOR [MAJOR…] (got "${m}")`);
    process.exit(2);
  }
}

const tmpParent = process.env.TEST_NODE_TMP || os.tmpdir();
const platform = process.platform === 'win32' ? 'win' : process.platform;
const binaryPackage = `node-${platform}-${process.arch}`;

function step(title, cmd, cmdArgs, options) {
  process.stdout.write(`\n=== ${title}: ${cmd} ${cmdArgs.join(' ')}\n`);
  const started = Date.now();
  const r = spawnSync(cmd, cmdArgs, { stdio: 'inherit', ...options });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (r.error) throw new Error(`${title}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${title} failed (exit code ${r.status}, ${seconds} s)`);
  return seconds;
}

/** The files the repository tracks (their working-tree content), plus untracked ones if asked. */
function copyRepository(dest) {
  if (head) {
    const tar = execFileSync('git', ['archive', '--format=tar', 'HEAD'], { cwd: root, maxBuffer: 1024 * 1024 * 1024 });
    execFileSync('tar', ['-x', '-C', dest], { input: tar });
    return execFileSync('git', ['ls-tree', '-r', '--name-only', 'HEAD'], { cwd: root }).toString().split('\n').filter(Boolean).length;
  }
  const list = ['ls-files', '-z', '--cached', ...(untracked ? ['--others', '--exclude-standard'] : [])];
  const files = execFileSync('git', list, { cwd: root, maxBuffer: 64 * 1024 * 1024 })
    .toString('utf8')
    .split('\0')
    .filter(Boolean);
  let copied = 0;
  for (const rel of new Set(files)) {
    const from = path.join(root, rel);
    let stat;
    try {
      stat = fs.lstatSync(from);
    } catch {
      continue; // deleted in the working tree
    }
    const to = path.join(dest, rel);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    if (stat.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(from), to);
    else if (stat.isFile()) fs.copyFileSync(from, to);
    else continue;
    copied++;
  }
  return copied;
}

function testUnder(major) {
  const work = fs.mkdtempSync(path.join(tmpParent, `cacpq-node${major}-`));
  const results = [];
  try {
    // 1. The runtime: the registry's binary package (no scripts, no other download).
    const runtime = path.join(work, 'runtime');
    fs.mkdirSync(runtime);
    fs.writeFileSync(path.join(runtime, 'package.json'), '{ "private": true }\n');
    const s1 = step(`Node ${major}: install ${binaryPackage}@${major}`, 'npm', [
      'install',
      '--prefix',
      runtime,
      '--no-audit',
      '--no-fund',
      '--no-package-lock',
      '--ignore-scripts',
      `${binaryPackage}@${major}`,
    ]);
    results.push(`ok     install Node ${major} (${s1} s)`);
    const nodeHome = path.join(runtime, 'node_modules', binaryPackage);
    const nodeBin = path.join(nodeHome, 'bin');
    if (!fs.existsSync(path.join(nodeHome, 'include', 'node', 'node.h'))) {
      throw new Error(`${binaryPackage}@${major} has no include/node headers; native modules cannot be built offline`);
    }

    // 2. The project, copied.
    const project = path.join(work, 'project');
    fs.mkdirSync(project);
    const n = copyRepository(project);
    process.stdout.write(`\n=== Node ${major}: copied ${n} files to ${project}\n`);

    const env = {
      ...process.env,
      PATH: `${nodeBin}${path.delimiter}${process.env.PATH}`,
      npm_config_nodedir: nodeHome,
      NX_DAEMON: 'false',
      NX_TUI: 'false',
      NX_NO_CLOUD: 'true',
      NEXT_TELEMETRY_DISABLED: '1',
      CI: process.env.CI || 'true',
    };
    // npm's own environment (npm_config_*, npm_node_execpath, npm_execpath…) must not leak from an
    // outer `npm run` into the inner npm: it would pin the outer Node and settings.
    for (const k of Object.keys(env)) {
      if (/^npm_/i.test(k) && k !== 'npm_config_nodedir' && k !== 'npm_config_cache') delete env[k];
    }
    const opts = { cwd: project, env };
    const version = execFileSync(path.join(nodeBin, 'node'), ['-v'], { env }).toString().trim();

    // 3. Dependencies, native ones built for this Node (the npm cache is used first).
    const s3 = step(`Node ${version}: npm ci`, 'npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline'], opts);
    results.push(`ok     npm ci (${s3} s)`);
    const check =
      "const D=require('better-sqlite3');const d=new D(':memory:');" +
      "console.log('node '+process.version+', modules ABI '+process.versions.modules+', SQLite '+d.prepare('select sqlite_version() v').get().v)";
    step(`Node ${version}: better-sqlite3 loads`, 'node', ['-e', check], opts);

    // 4. The unit and API suites: every project's test target.
    const s4 = step(
      `Node ${version}: unit and API tests`,
      'npx',
      ['nx', 'run-many', '-t', 'test', '--outputStyle=stream', '--parallel=2', '--skipNxCache'],
      opts,
    );
    results.push(`ok     unit and API tests (${s4} s)`);
    return { ok: true, version: `Node ${version}`, results };
  } catch (err) {
    results.push(`FAILED ${err.message}`);
    return { ok: false, version: `Node ${major}`, results };
  } finally {
    if (keep) process.stdout.write(`\n(kept ${work})\n`);
    else fs.rmSync(work, { recursive: true, force: true });
  }
}

let failed = false;
const summary = [];
for (const major of majors) {
  const r = testUnder(major);
  summary.push(`${r.version}:`, ...r.results.map((l) => `  ${l}`));
  failed ||= !r.ok;
}
process.stdout.write(`\n${summary.join('\n')}\n\ntest-node: ${failed ? 'FAILED' : 'all passed'}\n`);
process.exit(failed ? 1 : 0);
