import type { INestApplication, Type } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { ModulesContainer } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import * as protocol from '@cacpq/sync-protocol';
import { ApiErrorBodySchema, type Role } from '@cacpq/sync-protocol';
import { toJSONSchema, type z } from 'zod';
import { CSRF_HEADER, SESSION_COOKIE } from '../auth/cookies';
import { PUBLIC_KEY, ROLES_KEY } from '../common/decorators';
import { ZodPipe } from '../common/zod';
import { SERVER_VERSION } from '../version';
import { ANSWERS, type Answer } from './responses';

/**
 * The OpenAPI 3.1 description served at /api/docs/openapi.json. Nest's explorer gives the paths,
 * operation ids, summaries and success status codes; everything else comes from what the server
 * really checks and answers:
 *
 * - query, path and body schemas from the zod schemas of each handler's `ZodPipe`s (the very
 *   schemas that validate the request), as JSON Schema 2020-12 (`z.toJSONSchema`, input side);
 * - success answers from `ANSWERS` (openapi/responses.ts), error answers as the one error body
 *   every failure has;
 * - security from the guard's metadata: `@Public()` routes need nothing; every other route takes
 *   a bearer token or the session cookie, the cookie with the CSRF header on writes, and `@Roles`
 *   is listed in `x-roles` and the description.
 *
 * OpenAPI 3.1 rather than 3.0: its schemas are JSON Schema 2020-12, which is what zod emits, so
 * the contract's schemas go in as they are (literals, nullable unions, tuples) instead of through a
 * lossy 3.0 conversion.
 */
export function openApiDocument(app: INestApplication): OpenAPIObject {
  const base = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setOpenAPIVersion('3.1.0')
      .setTitle('CACPQ Sync Server')
      .setDescription(
        'Sync protocol, accounts and operations of the CACPQ master store. Errors are {statusCode, code, message, requestId}.',
      )
      .setVersion(SERVER_VERSION)
      .build(),
  );
  return describe(base, handlers(app));
}

type Json = Record<string, unknown>;
type Operation = Json & {
  operationId: string;
  parameters?: Json[];
  requestBody?: Json;
  responses: Record<string, Json>;
  description?: string;
};

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const SAFE_METHODS = new Set(['get', 'head', 'options']);

interface Handler {
  controller: Type<unknown>;
  method: string;
}

/** Every controller method by Nest's default operation id (`Controller_method`). */
function handlers(app: INestApplication): Map<string, Handler> {
  const found = new Map<string, Handler>();
  for (const mod of app.get(ModulesContainer).values()) {
    for (const wrapper of mod.controllers.values()) {
      const controller = wrapper.metatype as Type<unknown> | null;
      if (!controller) continue;
      for (const method of Object.getOwnPropertyNames(controller.prototype)) {
        if (method !== 'constructor') found.set(`${controller.name}_${method}`, { controller, method });
      }
    }
  }
  return found;
}

/** JSON Schema 2020-12 of a zod schema, as OpenAPI 3.1 takes it. */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _ignored, ...rest } = toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
  return simplify(rest) as Json;
}

/** `anyOf` with an empty (any value) branch is any value: `z.unknown().nullable()` is `{}`, not `anyOf: [{}, null]`. */
function simplify(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(simplify);
  if (typeof node !== 'object' || node === null) return node;
  const out = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, simplify(v)])) as Json;
  if (Array.isArray(out.anyOf) && out.anyOf.some((b) => typeof b === 'object' && b !== null && Object.keys(b).length === 0)) {
    delete out.anyOf;
  }
  return out;
}

/** The contract's name of a schema (its export from @cacpq/sync-protocol), if it has one. */
const contractNames = new Map<unknown, string>(
  Object.entries(protocol)
    .filter(([, value]) => typeof value === 'object' && value !== null && '_zod' in value)
    .map(([name, value]) => [value, name]),
);

interface Pipes {
  query: z.ZodType[];
  path: Map<string, z.ZodType | null>;
  body: z.ZodType | null;
}

/** The zod schemas a handler's parameters are checked with, from Nest's route-argument metadata. */
function pipesOf({ controller, method }: Handler): Pipes {
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, method) ?? {}) as Record<
    string,
    { data?: unknown; pipes?: unknown[] }
  >;
  const out: Pipes = { query: [], path: new Map(), body: null };
  for (const [key, arg] of Object.entries(args)) {
    const type = Number(key.split(':')[0]);
    const zod = (arg.pipes ?? []).find((p): p is ZodPipe<z.ZodType> => p instanceof ZodPipe)?.schema ?? null;
    if (type === RouteParamtypes.QUERY && zod) out.query.push(zod);
    else if (type === RouteParamtypes.PARAM && typeof arg.data === 'string') out.path.set(arg.data, zod);
    else if (type === RouteParamtypes.BODY && zod) out.body = zod;
  }
  return out;
}

function describe(doc: OpenAPIObject, byId: Map<string, Handler>): OpenAPIObject {
  const schemas: Record<string, Json> = {};
  /** `$ref` to a named schema, registering it; one name is one schema. */
  const named = (name: string, schema: z.ZodType, io: 'input' | 'output'): Json => {
    const json = jsonSchema(schema, io);
    if (schemas[name] && JSON.stringify(schemas[name]) !== JSON.stringify(json)) {
      throw new Error(`OpenAPI: two different schemas are named ${name}.`);
    }
    schemas[name] = json;
    return { $ref: `#/components/schemas/${name}` };
  };
  const error = (description: string) => ({
    description,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/ApiError' } } },
  });

  for (const [template, item] of Object.entries(doc.paths)) {
    for (const verb of HTTP_METHODS) {
      const op = (item as Record<string, Operation | undefined>)[verb];
      if (!op) continue;
      const handler = byId.get(op.operationId);
      if (!handler) throw new Error(`OpenAPI: no handler for operation ${op.operationId}.`);
      const pipes = pipesOf(handler);
      const isPublic = meta<boolean>(PUBLIC_KEY, handler) === true;
      const roles = meta<Role[]>(ROLES_KEY, handler);

      // Parameters: every path variable of the template, then every query field, from the pipes' schemas.
      const parameters: Json[] = [];
      for (const name of [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1])) {
        const zod = pipes.path.get(name);
        parameters.push({ name, in: 'path', required: true, schema: zod ? jsonSchema(zod, 'input') : { type: 'string' } });
      }
      for (const zod of pipes.query) {
        const query = jsonSchema(zod, 'input') as { properties?: Record<string, Json>; required?: string[] };
        for (const [name, schema] of Object.entries(query.properties ?? {})) {
          const { description, ...rest } = schema;
          parameters.push({
            name,
            in: 'query',
            required: (query.required ?? []).includes(name),
            ...(typeof description === 'string' ? { description } : {}),
            schema: rest,
          });
        }
      }
      op.parameters = parameters;

      if (pipes.body) {
        const name = contractNames.get(pipes.body);
        op.requestBody = {
          required: !pipes.body.safeParse(undefined).success,
          content: { 'application/json': { schema: name ? named(name, pipes.body, 'input') : jsonSchema(pipes.body, 'input') } },
        };
      }

      // Security, from the same metadata the guard reads.
      if (isPublic) op.security = [];
      else op.security = [{ bearer: [] }, SAFE_METHODS.has(verb) ? { cookie: [] } : { cookie: [], csrf: [] }];
      if (roles) {
        op['x-roles'] = roles;
        op.description = [op.description, `Roles: ${roles.join(', ')}.`].filter(Boolean).join('\n\n');
      } else if (!isPublic) {
        op.description = [op.description, 'Any signed-in role.'].filter(Boolean).join('\n\n');
      }

      // Success answer, with the status Nest already knows (201 for POST, or @HttpCode).
      const status = Object.keys(op.responses).find((s) => /^2\d\d$/.test(s)) ?? '200';
      const answer = ANSWERS[`${verb.toUpperCase()} ${template}`];
      op.responses = { [status]: success(answer, named) };
      if (parameters.length > 0 || op.requestBody)
        op.responses['400'] = error('The request is invalid (VALIDATION_FAILED, MALFORMED_JSON).');
      if (!isPublic) {
        op.responses['401'] = error('No valid session or token (UNAUTHENTICATED, INVALID_TOKEN, SESSION_EXPIRED).');
        op.responses['403'] = error(
          roles
            ? 'The role may not do this, the account is disabled, or the CSRF token is missing (FORBIDDEN, ACCOUNT_DISABLED, CSRF_FAILED).'
            : 'The account is disabled, or the CSRF token is missing (ACCOUNT_DISABLED, CSRF_FAILED).',
        );
      }
      if (template.includes('{')) op.responses['404'] = error('No such item (NOT_FOUND).');
      op.responses.default = error('Any other error, with its code (see the error codes of the contract).');
    }
  }

  named('ApiError', ApiErrorBodySchema, 'output');
  return {
    ...doc,
    servers: [{ url: '/', description: 'This server: the API shares its origin with the dashboard.' }],
    components: {
      ...doc.components,
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'A device token (`Authorization: Bearer cacpq_…`) or the local command line token.',
        },
        cookie: {
          type: 'apiKey',
          in: 'cookie',
          name: SESSION_COOKIE,
          description: "The dashboard's session cookie, set by POST /api/v1/auth/login.",
        },
        csrf: {
          type: 'apiKey',
          in: 'header',
          name: 'X-CSRF-Token',
          description: `With the session cookie, every write carries the session's CSRF token (the login answer's csrfToken) in ${CSRF_HEADER}.`,
        },
      },
      schemas: schemas as never,
    },
  };
}

function meta<T>(key: string, { controller, method }: Handler): T | undefined {
  const handler = (controller.prototype as Record<string, object>)[method];
  return (Reflect.getMetadata(key, handler) ?? Reflect.getMetadata(key, controller)) as T | undefined;
}

function success(answer: Answer | undefined, named: (name: string, schema: z.ZodType, io: 'input' | 'output') => Json): Json {
  if (!answer) return { description: 'Not described: add this operation to openapi/responses.ts.' };
  switch (answer.kind) {
    case 'empty':
      return { description: 'Done; no body.' };
    case 'file':
      return {
        description: answer.description,
        content: Object.fromEntries(
          answer.contentTypes.map((t) => [
            t,
            { schema: t.startsWith('text/') ? { type: 'string' } : { type: 'string', contentMediaType: t } },
          ]),
        ),
        ...(answer.headers
          ? {
              headers: Object.fromEntries(
                Object.entries(answer.headers).map(([h, description]) => [h, { description, schema: { type: 'string' } }]),
              ),
            }
          : {}),
      };
    case 'json': {
      const ref = named(answer.name, answer.schema, 'output');
      return { description: answer.name, content: { 'application/json': { schema: answer.many ? { type: 'array', items: ref } : ref } } };
    }
  }
}
