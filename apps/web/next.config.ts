import path from 'node:path';
import type { NextConfig } from 'next';

// The repo root holds the only package.json and lockfile; tell Turbopack and the output tracing so
// they do not guess.
const repoRoot = path.resolve(__dirname, '../..');

const nextConfig: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // A self-contained server in .next/standalone (apps/web/server.js and only the node_modules files
  // it uses): what the web image ships, and what `npm start` and the end-to-end suites run
  // (tools/bin/web-server.js copies the static assets beside it).
  output: 'standalone',
  outputFileTracingRoot: repoRoot,
  turbopack: {
    root: repoRoot,
  },
};

export default nextConfig;
