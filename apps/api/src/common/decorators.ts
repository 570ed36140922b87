import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Role } from '@cacpq/sync-protocol';
import type { AppRequest, Principal } from './request-context';

export const PUBLIC_KEY = 'cacpq:public';
export const ROLES_KEY = 'cacpq:roles';

/** No authentication: liveness, readiness, login. */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

/** Only these roles; without it any signed-in role may call. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

export const CurrentPrincipal = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Principal => ctx.switchToHttp().getRequest<AppRequest>().principal!,
);
