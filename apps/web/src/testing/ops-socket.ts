/*
 * The `/ops` socket.io connection, stubbed: a spec that wants live events mocks `socket.io-client`
 * with `jest.mock('socket.io-client', () => require('../testing/ops-socket').socketIoClient)` and
 * pushes server events with `opsServer.emit(...)`. OpsProvider and the components' listeners run unchanged.
 */
import type { OpsServerEvents } from '@cacpq/sync-protocol';

type Listener = (...args: unknown[]) => void;

class FakeSocket {
  active = true;
  private listeners = new Map<string, Set<Listener>>();
  on(event: string, listener: Listener): this {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event)!.add(listener);
    return this;
  }
  off(event: string, listener: Listener): this {
    this.listeners.get(event)?.delete(listener);
    return this;
  }
  connect(): this {
    return this;
  }
  disconnect(): this {
    this.active = false;
    return this;
  }
  fire(event: string, ...args: unknown[]): void {
    for (const l of [...(this.listeners.get(event) ?? [])]) l(...args);
  }
}

let current: FakeSocket | undefined;

export const socketIoClient = {
  io: (namespace: string) => {
    if (namespace !== '/ops') throw new Error(`unexpected namespace ${namespace}`);
    current = new FakeSocket();
    return current;
  },
};

/** The server's side of the latest `/ops` socket. */
export const opsServer = {
  connect(): void {
    socket().fire('connect');
  },
  emit<E extends keyof OpsServerEvents>(event: E, ...args: OpsServerEvents[E]): void {
    socket().fire(event, ...args);
  },
};

function socket(): FakeSocket {
  if (!current) throw new Error('no /ops socket was opened (is the component inside <OpsProvider enabled>?)');
  return current;
}
