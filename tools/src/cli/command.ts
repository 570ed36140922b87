import type { ParseArgsConfig } from 'node:util';
import type { ApiClient } from './client';

/** Option values as parseArgs gives them (`multiple` options as arrays). */
export type Values = Record<string, string | boolean | string[] | undefined>;

/** Writes one line to standard output. */
export type Out = (line?: string) => void;

export interface Command {
  summary: string;
  usage: string;
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(client: ApiClient, values: Values, positionals: string[]): Promise<void>;
}
