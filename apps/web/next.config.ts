import path from 'node:path';
import type { NextConfig } from 'next';

// The repo root holds the only package.json and lockfile; tell Turbopack so it does not guess.
const repoRoot = path.resolve(__dirname, '../..');

const nextConfig: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  turbopack: {
    root: repoRoot,
  },
};

export default nextConfig;
