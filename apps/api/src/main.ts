import 'reflect-metadata';
import { DataDirInUseError, MasterStore } from '@cacpq/db';
import * as os from 'node:os';
import type { Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { AppConfig, ConfigError } from './config/app-config';
import { createLogger } from './common/logger';
import { createApp } from './server';
import { acceptPlainHttpToo, probePort, redirectToHttps } from './tls/front-door';
import { loadTlsFiles, selfSignedCertificate, TlsMaterialError, type TlsMaterial } from './tls/tls-material';
import { UsersService } from './users/users.service';

function stop(code: number, sentence: string): never {
  process.stderr.write(`${sentence}\n`);
  process.exit(code);
}

function listenError(err: unknown, port: number, host: string, variable: string): string {
  const code = (err as { code?: string }).code;
  if (code === 'EADDRINUSE') return `Not started: port ${port} on ${host} is already in use; set ${variable} to a free port.`;
  if (code === 'EACCES')
    return `Not started: this account may not listen on port ${port} (ports below 1024 need rights); set ${variable} to a port above 1023.`;
  return `Not started: could not listen on ${host}:${port} (${variable}): ${(err as Error).message}`;
}

/**
 * Exit codes: 2 bad configuration (a setting, a certificate or key), 3 data directory in use,
 * 1 anything else at start-up (a port in use). A start that fails makes nothing: the settings and
 * certificate are checked and the ports tried before the data directory is opened, and the first
 * administrator (with its one-time password) is made only once the server is listening.
 */
async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = AppConfig.fromEnv();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  let tls: TlsMaterial | null = null;
  if (config.tls.mode === 'files') {
    try {
      tls = loadTlsFiles(config.tls);
    } catch (err) {
      if (err instanceof TlsMaterialError) stop(2, `Invalid configuration: ${err.message} The server was not started.`);
      throw err;
    }
  }
  for (const [port, variable] of [
    [config.port, 'PORT'],
    [config.httpPort, 'HTTP_PORT'],
  ] as const) {
    if (port === undefined) continue;
    const err = await probePort(port, config.host);
    if (err) stop(1, listenError(err, port, config.host, variable));
  }
  if (config.tls.mode === 'self-signed') {
    try {
      tls = await selfSignedCertificate(config.dataDir, config.tls.names);
    } catch (err) {
      if (err instanceof TlsMaterialError) stop(2, `Not started: ${err.message}`);
      stop(1, `Not started: could not make the self-signed certificate under ${config.dataDir}: ${(err as Error).message}`);
    }
  }
  const logger = createLogger(config.logLevel);
  let store: MasterStore;
  try {
    store = await MasterStore.open({
      dataDir: config.dataDir,
      busyTimeoutMs: config.busyTimeoutMs,
      purpose: 'a CACPQ Sync Server',
      logger: { info: (m, f) => logger.info(f ?? {}, m), warn: (m, f) => logger.warn(f ?? {}, m) },
    });
  } catch (err) {
    if (err instanceof DataDirInUseError) {
      process.stderr.write(`Not started: ${err.message}\n`);
      process.exit(3);
    }
    process.stderr.write(`Not started: could not open the data directory ${config.dataDir}: ${(err as Error).message}\n`);
    process.exit(1);
  }
  for (const note of store.startupNotes) process.stdout.write(`  ${note}\n`);
  for (const a of store.adopted) process.stdout.write(`  Adopted legacy database ${a.file}; its backup is ${a.backup}\n`);

  let app: Awaited<ReturnType<typeof createApp>>;
  try {
    app = await createApp(config, store, logger, tls);
  } catch (err) {
    await store.close();
    throw err;
  }
  // Graceful shutdown: stop taking requests, let those in flight finish (cut after the timeout),
  // then the store checkpoints its WAL, closes the files and releases the data directory.
  let redirect: Server | null = null;
  let closing = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (closing) return;
      closing = true;
      logger.info({ signal }, 'shutting down: no new requests, finishing the ones in flight');
      setTimeout(() => app.getHttpServer().closeAllConnections(), config.shutdownTimeoutMs).unref();
      redirect?.close();
      app.close().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
  // Idle keep-alive connections stay open longer than clients' pools keep them (Node's 5 s default
  // races with them: a request sent on a socket the server just closed fails).
  app.getHttpServer().keepAliveTimeout = 65_000;
  app.getHttpServer().headersTimeout = 66_000;
  if (tls) acceptPlainHttpToo(app.getHttpServer() as HttpsServer, redirectToHttps('same'));
  try {
    await app.listen(config.port, config.host);
  } catch (err) {
    await app.close().catch(() => undefined);
    await store.close();
    stop(1, listenError(err, config.port, config.host, 'PORT'));
  }
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  if (tls && config.httpPort !== undefined) {
    const server = redirectToHttps(port);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.httpPort, config.host, resolve);
      });
      redirect = server;
    } catch (err) {
      await app.close().catch(() => undefined);
      await store.close();
      stop(1, listenError(err, config.httpPort, config.host, 'HTTP_PORT'));
    }
  }
  await app.get(UsersService).ensureFirstAdmin();

  const scheme = tls ? 'https' : 'http';
  const anyAddress = config.host === '0.0.0.0' || config.host === '::';
  const here = `${scheme}://${anyAddress ? 'localhost' : config.host}:${port}/`;
  logger.info(
    {
      port,
      host: config.host,
      dataDir: config.dataDir,
      generation: store.generation,
      tls: tls?.mode ?? 'off',
      fingerprint: tls?.fingerprint,
    },
    'listening',
  );
  process.stdout.write(`  CACPQ Sync Server listening: open ${here} (dashboard and API, data in ${config.dataDir})\n`);
  if (anyAddress) process.stdout.write(`  From the other PCs on the network: ${scheme}://${os.hostname() || '<this computer>'}:${port}/\n`);
  if (tls) {
    for (const note of tls.notes) process.stdout.write(`  ${note}\n`);
    process.stdout.write(
      `  HTTPS certificate (${tls.mode === 'self-signed' ? 'self-signed' : tls.certFile}), valid until ${tls.validTo.slice(0, 10)}\n` +
        `  SHA-256 fingerprint: ${tls.fingerprint}\n` +
        `  Workstations trust it with: cacpq client init --server ${scheme}://${anyAddress ? os.hostname() || 'localhost' : config.host}:${port} --fingerprint ${tls.fingerprint} …\n`,
    );
    if (redirect) process.stdout.write(`  Plain HTTP on port ${config.httpPort} redirects to HTTPS.\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`Not started: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
