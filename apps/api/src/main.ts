import 'reflect-metadata';
import { DataDirInUseError, MasterStore } from '@cacpq/db';
import { AppConfig, ConfigError } from './config/app-config';
import { createLogger } from './common/logger';
import { createApp } from './server';

/** Exit codes: 2 bad configuration, 3 data directory in use, 1 anything else at start-up. */
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
    app = await createApp(config, store, logger);
  } catch (err) {
    await store.close();
    throw err;
  }
  // Graceful shutdown: stop taking requests, let those in flight finish (cut after the timeout),
  // then the store checkpoints its WAL, closes the files and releases the data directory.
  let closing = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (closing) return;
      closing = true;
      logger.info({ signal }, 'shutting down: no new requests, finishing the ones in flight');
      setTimeout(() => app.getHttpServer().closeAllConnections(), config.shutdownTimeoutMs).unref();
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
  try {
    await app.listen(config.port, config.host);
  } catch (err) {
    await app.close().catch(() => undefined);
    await store.close();
    const code = (err as { code?: string }).code;
    process.stderr.write(
      code === 'EADDRINUSE'
        ? `Not started: port ${config.port} on ${config.host} is already in use; set PORT to a free port.\n`
        : `Not started: could not listen on ${config.host}:${config.port}: ${(err as Error).message}\n`,
    );
    process.exit(1);
  }
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const shown = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  logger.info({ port, host: config.host, dataDir: config.dataDir, generation: store.generation }, 'listening');
  process.stdout.write(`  CACPQ Sync Server listening: open http://${shown}:${port}/ (dashboard and API, data in ${config.dataDir})\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`Not started: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
