import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ChangePasswordRequest, LoginRequest, type LoginResponse, type MeResponse } from '@cacpq/sync-protocol';
import type { Response } from 'express';
import type { AppRequest, Principal } from '../common/request-context';
import { ZodPipe, openApiSchema } from '../common/zod';
import { AppConfig } from '../config/app-config';
import { AuthService } from './auth.service';
import { CSRF_COOKIE, SESSION_COOKIE, cookieOptions } from './cookies';
import { CurrentPrincipal, Public } from '../common/decorators';
import { SessionsService } from './sessions.service';

@ApiTags('auth')
@Controller('api/v1/auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly sessions: SessionsService,
    private readonly config: AppConfig,
  ) {}

  @Public()
  @Post('login')
  @HttpCode(200)
  @ApiOperation({ summary: 'Sign in: sets an httpOnly session cookie and returns the CSRF token for writes.' })
  @ApiBody({ schema: openApiSchema(LoginRequest) })
  async login(
    @Req() req: AppRequest,
    @Body(new ZodPipe(LoginRequest)) body: LoginRequest,
    @Res({ passthrough: true }) res: Response,
  ): Promise<LoginResponse> {
    const { secret, ...answer } = await this.auth.login(req, body);
    res.cookie(SESSION_COOKIE, secret, cookieOptions(this.config, req, true, this.sessions.ttlMs));
    res.cookie(CSRF_COOKIE, answer.csrfToken, cookieOptions(this.config, req, false, this.sessions.ttlMs));
    return answer;
  }

  @Post('logout')
  @HttpCode(204)
  @ApiOperation({ summary: 'Sign out: ends the session and clears its cookies.' })
  async logout(@Req() req: AppRequest, @CurrentPrincipal() who: Principal, @Res({ passthrough: true }) res: Response) {
    await this.auth.logout(req, who);
    res.clearCookie(SESSION_COOKIE, cookieOptions(this.config, req, true));
    res.clearCookie(CSRF_COOKIE, cookieOptions(this.config, req, false));
  }

  @Get('me')
  @ApiOperation({ summary: 'Who is calling, and how (session, device token or local command line).' })
  me(@CurrentPrincipal() who: Principal): MeResponse {
    return { user: { username: who.username, role: who.role }, via: who.kind, csrfToken: who.csrfToken ?? null };
  }

  @Post('password')
  @HttpCode(204)
  @ApiOperation({ summary: 'Change your own password.' })
  @ApiBody({ schema: openApiSchema(ChangePasswordRequest) })
  async changePassword(
    @Req() req: AppRequest,
    @CurrentPrincipal() who: Principal,
    @Body(new ZodPipe(ChangePasswordRequest)) body: ChangePasswordRequest,
  ): Promise<void> {
    await this.auth.changePassword(req, who, body);
  }
}
