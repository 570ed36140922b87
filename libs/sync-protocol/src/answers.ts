import { z } from 'zod';
import { RefusalOutcomeSchema, RegisterNumbersResponseSchema, ReportRefusalResponseSchema } from './response-schemas';
import { IssuedNumber, PulledChange, PullResponse, PushResponse, PushResult, ReinitializeDetails, SyncInfoResponse } from './sync';

/*
 * The server's answers as a workstation reads them: the SDK checks each answer it consumes against
 * these at its edge, so a malformed answer is a clear error naming the endpoint, never a crash deep
 * inside a sync. They are the contract's answer schemas, widened only where a real server may
 * differ from them: row values of legacy data arrive tagged (an integer beyond 2^53, a BLOB), and
 * an older server announces no body limit.
 */

/** A value in a row the server sends: a wire scalar, or one of the two tagged kinds of legacy data. */
export const AnswerValue = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.null(),
  z.object({ $int: z.string() }),
  z.object({ $blob: z.string() }),
]);
export type AnswerValue = z.infer<typeof AnswerValue>;

const AnswerRow = z.record(z.string(), AnswerValue);

/** `GET /sync/info`. */
export const SyncInfoAnswer = SyncInfoResponse.extend({ maxBodyBytes: z.number().optional() });

/** `POST /sync/push`. */
export const PushAnswer = PushResponse.extend({
  results: z.array(PushResult.extend({ row: AnswerRow.nullable().optional(), stored: AnswerRow.optional() })),
});

/** `GET /sync/pull`, one page. */
export const PullAnswer = PullResponse.extend({ changes: z.array(PulledChange.extend({ values: AnswerRow })) });

/** A pull page's envelope; its changes are checked by {@link pulledChangeProblem}, row by row. */
export const PullAnswerEnvelope = PullResponse.extend({ changes: z.array(z.unknown()) });

function isAnswerValue(v: unknown): boolean {
  if (v === null) return true;
  const t = typeof v;
  if (t === 'string' || t === 'number' || t === 'boolean') return true;
  if (t !== 'object' || Array.isArray(v)) return false;
  // As the schema: a tag object holds its text under $int or $blob (other keys are ignored).
  const tagged = v as Record<string, unknown>;
  return typeof tagged.$int === 'string' || typeof tagged.$blob === 'string';
}

/**
 * What is wrong with one change of a pull page, or null: the same rules as {@link PullAnswer}'s
 * changes (a spec keeps the two in step), written out because a page holds up to thousands of rows
 * and a schema walk of each cost a fifth of the pull's speed.
 */
export function pulledChangeProblem(c: unknown): string | null {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return 'expected an object';
  const r = c as Record<string, unknown>;
  if (typeof r.table !== 'string') return 'table: expected a string';
  if (typeof r.id !== 'string') return 'id: expected a string';
  if (typeof r.seq !== 'number' || !Number.isFinite(r.seq)) return 'seq: expected a number';
  if (typeof r.deleted !== 'boolean') return 'deleted: expected a boolean';
  const values = r.values;
  if (typeof values !== 'object' || values === null || Array.isArray(values)) return 'values: expected an object';
  for (const k in values) {
    if (!isAnswerValue((values as Record<string, unknown>)[k]))
      return `values.${k}: expected a value (text, number, boolean, null, $int or $blob)`;
  }
  return null;
}

/** `GET /sync/refusals?clientId&ids`: what became of the changes a workstation holds back. */
export const RefusalOutcomesAnswer = z.array(RefusalOutcomeSchema.extend({ row: AnswerRow.nullable().optional() }));

/** `POST /sync/refusals`: the server's record of each change reported. */
export const ReportRefusalAnswer = ReportRefusalResponseSchema;

/** `POST /numbers/uses`. */
export const RegisterNumbersAnswer = RegisterNumbersResponseSchema;

/** `POST /numbers/:kind`. */
export const IssuedNumberAnswer = IssuedNumber;

/** `POST /numbers/:kind/reserve`. */
export const IssuedNumbersAnswer = z.array(IssuedNumber);

/** The details of a 409 REINITIALIZE answer. */
export const ReinitializeAnswer = ReinitializeDetails;

/**
 * A snapshot's metadata (its `snapshot_info` table, else the `X-Generation` / `X-Snapshot-Seq`
 * headers): the generation it is of and the last change it holds, the cursor to pull from.
 */
export const SnapshotMetaAnswer = z.object({
  generation: z.string().min(1),
  cursor: z.string().regex(/^\d{1,15}$/),
});

/** The details of a 409 WORKSTATION_CLONED answer (what the SDK needs of them to carry on). */
export const WorkstationClonedAnswer = z.object({
  clientId: z.string(),
  newClientId: z.string().min(1),
  reason: z.enum(['copied', 'rolled-back']),
});
