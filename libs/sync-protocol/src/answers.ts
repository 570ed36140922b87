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
