import { PipeTransform } from '@nestjs/common';
import { describeIssues } from '@cacpq/sync-protocol';
import { toJSONSchema, type z } from 'zod';
import { ApiException } from './api-exception';

/** Validates a body or query against a contract schema: 400 VALIDATION_FAILED with a sentence. */
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(
    /** Public for the OpenAPI document, which declares each parameter and body from the schema its pipe checks. */
    readonly schema: S,
    readonly where: 'request body' | 'query' | 'path' = 'request body',
  ) {}

  transform(value: unknown): z.infer<S> {
    return parseOrThrow(this.schema, value === undefined && this.where !== 'request body' ? {} : value, this.where);
  }
}

export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new ApiException(
      'VALIDATION_FAILED',
      describeIssues(where, result.error),
      result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  return result.data;
}

/** OpenAPI body schema straight from the contract's zod schema. */
export function openApiSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}
