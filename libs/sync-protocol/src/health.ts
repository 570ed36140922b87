import { z } from 'zod';

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
export type StoreFileView = z.infer<typeof StoreFileView>;

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

/** How the server is reached: plain HTTP, or HTTPS with the certificate workstations pin. */
export const ServerTlsView = z.object({
  /** off: plain HTTP (a proxy in front may still do TLS); files: TLS_CERT/TLS_KEY; self-signed: made by the server. */
  mode: z.enum(['off', 'files', 'self-signed']),
  /** Whether this request itself arrived over TLS (directly or through a trusted proxy). */
  requestSecure: z.boolean(),
  /** SHA-256 of the certificate (`AB:CD:…`), what `cacpq client --fingerprint` and browsers show. */
  fingerprint: z.string().optional(),
  subject: z.string().optional(),
  names: z.array(z.string()).optional(),
  validFrom: z.string().optional(),
  validTo: z.string().optional(),
  /** The plain-HTTP port that redirects to HTTPS, besides the HTTPS port itself. */
  httpPort: z.number().optional(),
});
export type ServerTlsView = z.infer<typeof ServerTlsView>;

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
