// The desktop app's main process, wired to the workstation SDK: the operations guide's IPC
// `sync:manual` (the "Sync Now" button) and `sync:setSchedule` (this PC's own interval, e.g. 240
// minutes on a slow VPN), answered by a SyncClient over the app's local SQLite file.
//
// In the app (Electron's main process):
//
//   import { app, ipcMain, BrowserWindow } from 'electron';
//   import { startWorkstationSync } from './sync';   // this file
//   app.whenReady().then(async () => {
//     const win = new BrowserWindow({ webPreferences: { preload: PRELOAD } });
//     await startWorkstationSync({
//       app, ipcMain,
//       file: path.join(app.getPath('userData'), 'cacpq.db'),
//       server: 'https://nas.example.local:8443', token: TOKEN_FROM_THE_ADMIN,
//       send: (channel, payload) => win.webContents.send(channel, payload),
//     });
//   });
//
// and in the renderer, as in the guide:
//
//   await window.electron.ipcRenderer.invoke('sync:manual');
//   await window.electron.ipcRenderer.invoke('sync:setSchedule', 240); // null: the server's interval again
//
// Electron is not a dependency of the SDK: the few members of `ipcMain` and `app` used here are
// declared below, and Electron's own objects fit them.
import * as fs from 'node:fs';
import { SyncClient, SyncError, type LocalStatus, type SyncClientOptions, type SyncSummary } from '@cacpq/sync-client';

/** The part of Electron's `ipcMain` this uses. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: unknown, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

/** The part of Electron's `app` this uses. */
export interface AppLike {
  on(event: 'will-quit', listener: (event: { preventDefault(): void }) => void): unknown;
  quit(): void;
}

/** What the renderer gets back from an `invoke`: an answer it can show, never a thrown error it must parse. */
export type SyncIpcAnswer<T> = { ok: true; value: T } | { ok: false; code: string; message: string };

function failure(err: unknown): { ok: false; code: string; message: string } {
  if (err instanceof SyncError) return { ok: false, code: err.code, message: err.message };
  return { ok: false, code: 'LOCAL', message: err instanceof Error ? err.message : String(err) };
}

/**
 * Answers the guide's two channels with `client`; returns the function that removes the handlers.
 * - `sync:manual`: one sync now (upload, then download); the summary (pushed, pulled, conflicts,
 *   held back…) or the error's code and sentence (`NETWORK` when the server is unreachable: the
 *   changes stay in the file and go at the next sync).
 * - `sync:setSchedule` (minutes, or null): this workstation's own interval between syncs, 5 to
 *   1440 minutes, kept in the file; null goes back to the interval an admin sets on the server.
 *   The new status, or `VALIDATION_FAILED` with its sentence.
 */
export function wireSyncIpc(ipcMain: IpcMainLike, client: SyncClient): () => void {
  ipcMain.handle('sync:manual', async (): Promise<SyncIpcAnswer<SyncSummary>> => {
    try {
      return { ok: true, value: await client.syncNow() };
    } catch (err) {
      return failure(err);
    }
  });
  ipcMain.handle('sync:setSchedule', (_event, minutes): SyncIpcAnswer<LocalStatus> => {
    try {
      // Whatever the renderer sent: the SDK checks it (a whole number of minutes in range, or null).
      client.setSchedule(minutes as number | null);
      return { ok: true, value: client.status() };
    } catch (err) {
      return failure(err);
    }
  });
  return () => {
    ipcMain.removeHandler('sync:manual');
    ipcMain.removeHandler('sync:setSchedule');
  };
}

/**
 * Opens the workstation file (initialising it from the server on the first run), syncs on the
 * schedule and on the server's pokes, answers the IPC, forwards the sync state to the renderer
 * (`sync:status`), and closes the file cleanly when the app quits.
 */
export async function startWorkstationSync(params: {
  app: AppLike;
  ipcMain: IpcMainLike;
  file: string;
  server: string;
  token: string;
  send?: (channel: string, payload: unknown) => void;
  /** E.g. `trust: { fingerprint }` for a NAS's self-signed certificate (kept in the file once it worked). */
  options?: SyncClientOptions;
}): Promise<SyncClient> {
  const { app, ipcMain, file, server, token, send, options } = params;
  const client = fs.existsSync(file) ? SyncClient.open(file, options) : await SyncClient.init({ file, server, token, ...options });
  if (send) {
    client.on('status', (state) => send('sync:status', { state, status: client.status() }));
    client.on('quarantined', (held) => send('sync:status', { state: 'held-back', held }));
  }
  const unwire = wireSyncIpc(ipcMain, client);
  client.start();

  let closed = false;
  app.on('will-quit', (event) => {
    if (closed) return;
    // Let a sync in progress finish its transaction before the process ends.
    event.preventDefault();
    unwire();
    client.close().finally(() => {
      closed = true;
      app.quit();
    });
  });
  return client;
}
