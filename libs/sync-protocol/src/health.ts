import { z } from 'zod';

export const PROTOCOL_VERSION = 1;
export const API_PREFIX = '/api/v1';

export const LivenessResponse = z.object({
  status: z.literal('ok'),
  uptimeSeconds: z.number(),
  version: z.string(),
});
export type LivenessResponse = z.infer<typeof LivenessResponse>;

export const StoreFileView = z.object({
  name: z.string(),
  open: z.boolean(),
  bytes: z.number().optional(),
  walBytes: z.number().optional(),
});

export const ReadinessResponse = z.object({
  ready: z.boolean(),
  files: z.array(StoreFileView),
  sqliteVersion: z.string(),
  generation: z.string(),
  protocolVersion: z.number(),
  /** Only for signed-in managers and admins. */
  dataDir: z.string().optional(),
  startedAt: z.string().optional(),
});
export type ReadinessResponse = z.infer<typeof ReadinessResponse>;

export const DemoSeedRequest = z.strictObject({
  /** Must be the literal text, so a stray call cannot fill a production master. */
  confirm: z.literal('seed-demo', { error: 'must be the text "seed-demo"' }),
  months: z.number().int().min(1).max(24).optional(),
  scale: z.number().min(0.1).max(10).optional(),
});
export type DemoSeedRequest = z.infer<typeof DemoSeedRequest>;

export const DemoSeedResponse = z.object({
  rows: z.record(z.string(), z.number()),
  syncLogRows: z.number(),
  numbersIssued: z.number(),
  users: z.array(z.object({ username: z.string(), role: z.string(), password: z.string() })),
});
export type DemoSeedResponse = z.infer<typeof DemoSeedResponse>;
