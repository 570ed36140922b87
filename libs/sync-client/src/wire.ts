import type { PushValue } from '@cacpq/sync-protocol';

export const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** A column value as the wire carries it exactly: BLOBs and integers beyond 2^53 tagged. */
export function toWire(v: unknown): PushValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v >= -BigInt(MAX_SAFE) && v <= BigInt(MAX_SAFE) ? Number(v) : { $int: v.toString() };
  if (Buffer.isBuffer(v)) return { $blob: v.toString('base64') };
  return v as PushValue;
}

/** A pulled value as SQLite stores it: the tagged kinds back to a bigint or a Buffer. */
export function fromWire(v: unknown): unknown {
  if (v !== null && typeof v === 'object') {
    if ('$int' in v) return BigInt((v as { $int: string }).$int);
    if ('$blob' in v) return Buffer.from((v as { $blob: string }).$blob, 'base64');
  }
  return v;
}

export function toIso(value: string): string {
  return value.includes('T') ? value : `${value.replace(' ', 'T')}Z`;
}
