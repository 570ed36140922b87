import { PushChange, PushRequest, SYNC_LIMITS, describeIssues } from '@cacpq/sync-protocol';
import { z } from 'zod';
import { ApiException } from '../common/api-exception';

/** The push envelope, validated by the contract; its changes are checked one by one below. */
const Envelope = PushRequest.extend({
  changes: z.array(z.unknown()).max(SYNC_LIMITS.maxPushRows, `may hold at most ${SYNC_LIMITS.maxPushRows} rows; split the batch`),
});

const CHANGE_KEYS = new Set(['table', 'op', 'id', 'baseVersion', 'updatedAt', 'values', 'changed', 'base', 'restore']);

/**
 * Validates a push. The envelope goes through the contract's zod schema; each change through a
 * direct check of the same rules (the contract's PushChange), which is several times faster on a
 * 5,000-row batch. Anything the fast check is unsure about is handed to zod for its sentence.
 */
export function parsePush(body: unknown): PushRequest {
  const envelope = Envelope.safeParse(body);
  if (!envelope.success) {
    throw new ApiException(
      'VALIDATION_FAILED',
      describeIssues('request body', envelope.error),
      envelope.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  const changes = envelope.data.changes;
  for (let i = 0; i < changes.length; i++) {
    if (!looksValid(changes[i])) {
      const result = PushChange.safeParse(changes[i]);
      if (!result.success) {
        const prefixed = new z.ZodError(result.error.issues.map((issue) => ({ ...issue, path: ['changes', i, ...issue.path] })));
        throw new ApiException('VALIDATION_FAILED', describeIssues('request body', prefixed));
      }
    }
  }
  return envelope.data as PushRequest;
}

function looksValid(c: unknown): c is PushChange {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return false;
  const o = c as Record<string, unknown>;
  for (const k in o) if (!CHANGE_KEYS.has(k)) return false;
  if (typeof o.table !== 'string' || o.table.length < 1 || o.table.length > 64) return false;
  if (o.op !== 'upsert' && o.op !== 'delete') return false;
  if (typeof o.id !== 'string' || o.id.length < 1 || o.id.length > SYNC_LIMITS.idMaxLength) return false;
  if (typeof o.baseVersion !== 'number' || !Number.isSafeInteger(o.baseVersion) || o.baseVersion < 0) return false;
  if (typeof o.updatedAt !== 'string' || o.updatedAt.length < 10 || o.updatedAt.length > 40) return false;
  if (o.restore !== undefined && typeof o.restore !== 'boolean') return false;
  for (const field of [o.values, o.base]) {
    if (field === undefined) continue;
    if (typeof field !== 'object' || field === null || Array.isArray(field)) return false;
    const values = field as Record<string, unknown>;
    for (const k in values) {
      const v = values[k];
      if (v !== null && typeof v !== 'string' && typeof v !== 'boolean' && !(typeof v === 'number' && Number.isFinite(v))) return false;
    }
  }
  if (o.changed !== undefined) {
    if (!Array.isArray(o.changed) || o.changed.length > 200) return false;
    for (const k of o.changed) if (typeof k !== 'string' || k.length > 64) return false;
  }
  return true;
}
