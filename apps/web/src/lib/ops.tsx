'use client';

import {
  OPS_NAMESPACE,
  type MaintenanceState,
  type OpsServerEvents,
  type OpsSnapshot,
  type WorkstationPresence,
} from '@cacpq/sync-protocol';
import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { io, type Socket } from 'socket.io-client';
import { api } from './api';

/** While the socket is down, the maintenance state is fetched this often instead. */
const POLL_WHILE_DISCONNECTED_MS = 15_000;
/** After the server refused the socket (e.g. the session ended), try again after this long. */
const RETRY_REFUSED_MS = 10_000;

type OpsEventName = keyof OpsServerEvents;
/** The events as socket.io's typings want them: listener signatures. */
type OpsListeners = { [E in OpsEventName]: (...args: OpsServerEvents[E]) => void };
type OpsSocket = Socket<OpsListeners>;
/** What a listener for an event chosen at run time needs (socket.io's typings cannot relate a generic name to its listener). */
interface AnyEmitter {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

interface OpsContextValue {
  socket: OpsSocket | null;
  /** True while the `/ops` socket is connected (events arrive). */
  connected: boolean;
  /** Counts connections: it changes after every (re)connect, when events may have been missed. */
  epoch: number;
  /** Undefined until first known. */
  maintenance: MaintenanceState | undefined;
  /** The `snapshot` the server sent on the latest (re)connect; undefined until the first. Deltas follow as events. */
  snapshot: OpsSnapshot | undefined;
  /** Sockets connected to `/sync` now (workstations): the snapshot's, kept by `workstation.connected`/`gone`; undefined until known. */
  presence: WorkstationPresence[] | undefined;
}

const OpsContext = createContext<OpsContextValue>({
  socket: null,
  connected: false,
  epoch: 0,
  maintenance: undefined,
  snapshot: undefined,
  presence: undefined,
});

/**
 * One `/ops` connection for the signed-in manager or admin (session cookie, same origin): job
 * progress, catalogue changes, maintenance mode, the connect snapshot and the connected
 * workstations, shared by every component of the page.
 */
export function OpsProvider({ enabled, children }: { enabled: boolean; children: ReactNode }) {
  const [socket, setSocket] = useState<OpsSocket | null>(null);
  const [connected, setConnected] = useState(false);
  const [epoch, setEpoch] = useState(0);
  const [maintenance, setMaintenance] = useState<MaintenanceState | undefined>(undefined);
  const [snapshot, setSnapshot] = useState<OpsSnapshot | undefined>(undefined);
  const [presence, setPresence] = useState<WorkstationPresence[] | undefined>(undefined);
  /** Bumped by every maintenance event, so a slower fetch never overwrites a newer event. */
  const eventCount = useRef(0);

  useEffect(() => {
    if (!enabled) return;
    const s: OpsSocket = io(OPS_NAMESPACE, { withCredentials: true });
    let retry: ReturnType<typeof setTimeout> | undefined;
    s.on('connect', () => {
      setConnected(true);
      setEpoch((n) => n + 1);
    });
    s.on('disconnect', () => setConnected(false));
    s.on('connect_error', () => {
      setConnected(false);
      // A refusal by the server's middleware is not retried by socket.io itself.
      if (!s.active) retry = setTimeout(() => s.connect(), RETRY_REFUSED_MS);
    });
    s.on('snapshot', (snap) => {
      setSnapshot(snap);
      setPresence(snap.workstations);
      eventCount.current += 1;
      setMaintenance(snap.maintenance);
    });
    s.on('workstation.connected', (p) => setPresence((list) => [...(list ?? []).filter((w) => w.socketId !== p.socketId), p]));
    s.on('workstation.gone', (p) => setPresence((list) => list?.filter((w) => w.socketId !== p.socketId)));
    s.on('maintenance.changed', (state) => {
      eventCount.current += 1;
      setMaintenance(state);
    });
    // The server ended this sign-in (signed out elsewhere, password changed, account disabled) or the
    // account's role changed: the page reloads, which signs in again or shows what the role may see.
    s.on('revoked', (event) => {
      if (event.reason === 'role-changed') window.location.reload();
      else window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`);
    });
    setSocket(s);
    return () => {
      if (retry) clearTimeout(retry);
      s.disconnect();
      setSocket(null);
      setConnected(false);
      setSnapshot(undefined);
      setPresence(undefined);
    };
  }, [enabled]);

  // The state on load and after each reconnect; polled while the socket is down.
  useEffect(() => {
    if (!enabled) return;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    async function load(): Promise<void> {
      const before = eventCount.current;
      try {
        const state = await api.get<MaintenanceState>('/api/v1/maintenance/state', { signal: controller.signal });
        if (!controller.signal.aborted && eventCount.current === before) setMaintenance(state);
      } catch {
        // Keep what is known; the next connect or poll tries again.
      }
      if (!controller.signal.aborted && !connected) timer = setTimeout(load, POLL_WHILE_DISCONNECTED_MS);
    }
    void load();
    return () => {
      controller.abort();
      if (timer) clearTimeout(timer);
    };
  }, [enabled, epoch, connected]);

  return <OpsContext value={{ socket, connected, epoch, maintenance, snapshot, presence }}>{children}</OpsContext>;
}

export function useOps(): OpsContextValue {
  return useContext(OpsContext);
}

/** Calls `handler` for each `event` from `/ops`; the latest handler is used without resubscribing. */
export function useOpsEvent<E extends OpsEventName>(event: E, handler: (...args: OpsServerEvents[E]) => void): void {
  const { socket } = useOps();
  const ref = useRef(handler);
  useEffect(() => {
    ref.current = handler;
  });
  useEffect(() => {
    if (!socket) return;
    const emitter = socket as unknown as AnyEmitter;
    const listener = (...args: unknown[]) => ref.current(...(args as OpsServerEvents[E]));
    emitter.on(event, listener);
    return () => {
      emitter.off(event, listener);
    };
  }, [socket, event]);
}
