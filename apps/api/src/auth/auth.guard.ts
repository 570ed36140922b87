import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Role } from '@cacpq/sync-protocol';
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ApiException } from '../common/api-exception';
import type { AppRequest } from '../common/request-context';
import { AuditService } from '../audit/audit.service';
import { DirectoryService } from './directory/directory.service';
import { CSRF_HEADER, SESSION_COOKIE } from './cookies';
import { PUBLIC_KEY, ROLES_KEY } from '../common/decorators';
import { DeviceTokensService } from './device-tokens.service';
import { LocalCliTokenService } from './local-cli-token.service';
import { SessionsService } from './sessions.service';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Guards every route: a bearer token or a session cookie is required unless the route is
 * @Public; cookie-authenticated writes must carry the CSRF token; @Roles limits by role.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly sessions: SessionsService,
    private readonly tokens: DeviceTokensService,
    private readonly localCli: LocalCliTokenService,
    private readonly audit: AuditService,
    private readonly directory: DirectoryService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<AppRequest>();
    if (!SAFE_METHODS.has(req.method)) checkOrigin(req);
    const isPublic = this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, [ctx.getHandler(), ctx.getClass()]);
    if (isPublic) return true;

    await this.authenticate(req);
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, [ctx.getHandler(), ctx.getClass()]);
    const principal = req.principal!;
    if (roles && !roles.includes(principal.role)) {
      await this.audit.record(req, {
        action: 'access.denied',
        target: `${req.method} ${req.path}`,
        outcome: 'denied',
        details: { required: roles },
      });
      throw new ApiException(
        'FORBIDDEN',
        `This needs the ${roles.join(' or ')} role; ${principal.username} is ${article(principal.role)} ${principal.role}.`,
      );
    }
    return true;
  }

  /** Sets `req.principal` from a bearer token or session cookie, or throws a 401/403 ApiException. */
  async authenticate(req: AppRequest): Promise<void> {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!match) throw new ApiException('INVALID_TOKEN', 'The Authorization header must be "Bearer <token>".');
      const token = match[1];
      if (this.localCli.matches(token)) {
        req.principal = { kind: 'local', userId: null, username: 'local-cli', role: 'admin' };
        return;
      }
      const found = await this.tokens.resolve(token);
      if (found === 'revoked') throw new ApiException('INVALID_TOKEN', 'This device token has been revoked.');
      if (!found) throw new ApiException('INVALID_TOKEN', 'This device token is not known to the server.');
      if (found.user.disabled) throw new ApiException('ACCOUNT_DISABLED', `The account ${found.user.username} is disabled.`);
      req.principal = {
        kind: 'token',
        userId: found.user.id,
        username: found.user.username,
        role: found.user.role,
        tokenId: found.token.id,
      };
      return;
    }
    const raw = (req.cookies as Record<string, unknown> | undefined)?.[SESSION_COOKIE];
    const cookie = typeof raw === 'string' ? raw : undefined;
    if (!cookie) throw new ApiException('UNAUTHENTICATED', 'Sign in first, or send a device token as "Authorization: Bearer <token>".');
    const found = await this.sessions.resolve(cookie);
    if (found === 'expired') throw new ApiException('SESSION_EXPIRED', 'Your session has expired; sign in again.');
    if (!found) throw new ApiException('UNAUTHENTICATED', 'Your session is not valid any more; sign in again.');
    if (found.user.disabled) throw new ApiException('ACCOUNT_DISABLED', `The account ${found.user.username} is disabled.`);
    // A directory user's session lasts only while the directory lets them in (401, session ended), and takes their current role.
    if (found.user.source === 'directory') found.user.role = await this.directory.confirmSession(req, found.user);
    if (!SAFE_METHODS.has(req.method)) {
      const sent = req.headers[CSRF_HEADER];
      if (typeof sent !== 'string' || !sameSecret(sent, found.session.csrfToken)) {
        throw new ApiException(
          'CSRF_FAILED',
          'This change was refused: the X-CSRF-Token header is missing or wrong. Reload the page and try again.',
        );
      }
    }
    req.principal = {
      kind: 'session',
      userId: found.user.id,
      username: found.user.username,
      role: found.user.role,
      sessionId: found.session.id,
      csrfToken: found.session.csrfToken,
    };
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A browser's write from another site is refused whatever credentials it carries. */
function checkOrigin(req: AppRequest): void {
  const refused = foreignOrigin(req.headers, req.app.get('trust proxy'));
  if (refused) throw new ApiException('CSRF_FAILED', refused);
}

/**
 * Null when a request carries no Origin (not a browser) or this server's own; otherwise the sentence
 * refusing it. Behind a trusted proxy the host the browser saw is `X-Forwarded-Host`.
 */
export function foreignOrigin(headers: IncomingHttpHeaders, trustProxy: unknown): string | null {
  const origin = headers.origin;
  if (origin === undefined) return null;
  const forwarded = headers['x-forwarded-host'];
  const host = typeof forwarded === 'string' && forwarded && trustProxy ? forwarded : headers.host;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    originHost = '';
  }
  return host && originHost === host ? null : `Cross-site request refused: Origin ${origin} is not this server.`;
}

/** "an admin", "a manager", "a user" (a vowel letter is not a vowel sound). */
export function article(role: string): string {
  return role === 'admin' ? 'an' : 'a';
}
