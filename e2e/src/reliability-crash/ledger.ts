import type { IssuedNumber, PushRequest } from '@cacpq/sync-protocol';

/** A seeded PRNG (mulberry32): a failing run is replayed with the seed it printed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type RequestKind = 'push' | 'pull' | 'number' | 'other';

export interface SentChange {
  id: string;
  /** `notes` as sent: `<workstation>#<counter>`, unique per local edit. */
  marker: string;
  counter: number;
}

export interface SentBatch {
  ws: string;
  clientId: string;
  batchId: string;
  changes: SentChange[];
}

function kindOf(url: string, method: string): RequestKind {
  const p = new URL(url).pathname;
  if (method === 'POST' && p === '/api/v1/sync/push') return 'push';
  if (method === 'GET' && p === '/api/v1/sync/pull') return 'pull';
  // Numbers issued or reserved; not the registration of numbers used offline (`/numbers/uses`).
  if (method === 'POST' && p.startsWith('/api/v1/numbers/') && p !== '/api/v1/numbers/uses') return 'number';
  return 'other';
}

export function counterOf(marker: string): number {
  return Number(marker.slice(marker.lastIndexOf('#') + 1));
}

/**
 * What the workstations sent and what the server acknowledged, seen from the SDK's side: each
 * SyncClient gets `fetchFor(name)` as its fetch, so every attempt (retries included) passes here.
 * A push or number is acknowledged when its 2xx answer arrived whole.
 */
export class Ledger {
  readonly sent = new Map<string, SentBatch>();
  readonly acked = new Set<string>();
  /** Every number an allocation or reservation returned, with the workstation that got it. */
  readonly numbers = new Map<string, string>();
  readonly numbersTwice: string[] = [];
  readonly attempts: Record<RequestKind, number> = { push: 0, pull: 0, number: 0, other: 0 };
  /** Attempts that failed on the way (refused, reset, cut answer): each one the SDK had to retry or give up on. */
  readonly failedAttempts: Record<RequestKind, number> = { push: 0, pull: 0, number: 0, other: 0 };
  /** A push sent again with a batch id already sent: the SDK's retry of a batch whose answer was lost. */
  pushResends = 0;
  private readonly pullsSeen = new Set<string>();
  /** A pull page asked again with the same query: the SDK's retry of a lost page. */
  pullRepeats = 0;
  readonly inFlight: Record<RequestKind, number> = { push: 0, pull: 0, number: 0, other: 0 };
  private gate: { open: Promise<void>; release: () => void } | null = null;

  /**
   * While the server is down, new attempts wait here until `release()` (the restart) instead of
   * sleeping through the SDK's growing backoff: the retry is the SDK's own, only its timing is
   * trimmed so that a kill cycle takes seconds. Attempts already on the wire fail as they would.
   */
  hold(): void {
    let release!: () => void;
    const open = new Promise<void>((r) => (release = r));
    this.gate = { open, release };
  }

  release(): void {
    this.gate?.release();
    this.gate = null;
  }

  fetchFor(ws: string): typeof fetch {
    return async (input, init) => {
      const url = String(input);
      const method = init?.method ?? 'GET';
      const kind = kindOf(url, method);
      this.attempts[kind]++;
      let batchId: string | null = null;
      if (kind === 'push') {
        const body = JSON.parse(String(init!.body)) as PushRequest;
        batchId = body.batchId;
        if (this.sent.has(batchId)) this.pushResends++;
        else
          this.sent.set(batchId, {
            ws,
            clientId: body.clientId,
            batchId,
            changes: body.changes.map((c) => {
              const marker = String(c.values?.notes);
              return { id: c.id, marker, counter: counterOf(marker) };
            }),
          });
      }
      if (kind === 'pull') {
        if (this.pullsSeen.has(url)) this.pullRepeats++;
        this.pullsSeen.add(url);
      }
      if (this.gate) await this.gate.open;
      this.inFlight[kind]++;
      let res: Response;
      try {
        res = await fetch(input, init);
      } catch (err) {
        this.inFlight[kind]--;
        this.failedAttempts[kind]++;
        throw err;
      }
      // The SDK reads the original; a copy is read here to see whether the whole answer arrived.
      const copy = res.clone();
      copy.text().then(
        (text) => {
          this.inFlight[kind]--;
          if (!res.ok) return;
          if (kind === 'push') this.acked.add(batchId!);
          if (kind === 'number') {
            const got = JSON.parse(text) as IssuedNumber | IssuedNumber[];
            for (const n of Array.isArray(got) ? got : [got]) {
              if (this.numbers.has(n.number)) this.numbersTwice.push(n.number);
              this.numbers.set(n.number, ws);
            }
          }
        },
        () => {
          this.inFlight[kind]--;
          this.failedAttempts[kind]++;
        },
      );
      return res;
    };
  }
}
