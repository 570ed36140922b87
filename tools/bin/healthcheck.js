#!/usr/bin/env node
// The images' HEALTHCHECK: `node healthcheck.js URL [--ready]` exits 0 when URL answers 200 within
// 4 seconds, else 1 (with the reason on stderr). With --ready the answer must also be JSON with
// `ready: true` (the API's /api/health/ready: the master files are open).
//
// The API may run with TLS on (TLS=self-signed or TLS_CERT/TLS_KEY); its plain-HTTP port then
// redirects to https on the same port. A redirect to https on this same loopback host is followed
// once without checking the certificate: the check asks its own container, on 127.0.0.1, whether
// the process answers, not who it is.
const http = require('node:http');
const https = require('node:https');
const { URL } = require('node:url');

const [target, flag] = process.argv.slice(2);
if (!target) {
  console.error('Usage: healthcheck.js URL [--ready]');
  process.exit(2);
}

function get(url, redirectsLeft) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const lib = u.protocol === 'https:' ? https : http;
    const req = lib.get(u, { timeout: 4000, rejectUnauthorized: false, headers: { accept: 'application/json' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        const location = res.headers.location;
        if (res.statusCode >= 300 && res.statusCode < 400 && location && redirectsLeft > 0) {
          const next = new URL(location, u);
          if (next.protocol === 'https:' && next.hostname === u.hostname) return resolve(get(next.href, redirectsLeft - 1));
        }
        resolve({ status: res.statusCode, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 4 s')));
    req.on('error', reject);
  });
}

get(target, 1).then(
  ({ status, body }) => {
    if (status !== 200) {
      console.error(`${target} answered ${status}`);
      process.exit(1);
    }
    if (flag === '--ready') {
      let ready = false;
      try {
        ready = JSON.parse(body).ready === true;
      } catch {
        // not JSON: not ready
      }
      if (!ready) {
        console.error(`${target} answered 200 but not ready: ${body.slice(0, 200)}`);
        process.exit(1);
      }
    }
    process.exit(0);
  },
  (err) => {
    console.error(`${target}: ${err.message}`);
    process.exit(1);
  },
);
