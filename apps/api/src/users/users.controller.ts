import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Req } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  CreateTokenRequest,
  CreateUserRequest,
  UpdateUserRequest,
  Username,
  type CreatedToken,
  type TokenView,
  type UserView,
} from '@cacpq/sync-protocol';
import { z } from 'zod';
import { Roles } from '../common/decorators';
import type { AppRequest } from '../common/request-context';
import { ZodPipe, openApiSchema } from '../common/zod';
import { UsersService } from './users.service';

const UsernameParam = new ZodPipe(Username, 'path');
const TokenIdParam = new ZodPipe(z.string().uuid('must be a token id (a UUID)'), 'path');

@ApiTags('users')
@Roles('admin')
@Controller('api/v1')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get('users')
  @Roles('admin', 'manager')
  @ApiOperation({ summary: 'All accounts (managers read them too).' })
  list(): Promise<UserView[]> {
    return this.users.list();
  }

  @Post('users')
  @ApiOperation({ summary: 'Create an account; without a password it can only use device tokens.' })
  @ApiBody({ schema: openApiSchema(CreateUserRequest) })
  create(@Req() req: AppRequest, @Body(new ZodPipe(CreateUserRequest)) body: CreateUserRequest): Promise<UserView> {
    return this.users.create(req, body);
  }

  @Patch('users/:username')
  @ApiOperation({ summary: 'Change role, disable or enable, or set a new password.' })
  @ApiBody({ schema: openApiSchema(UpdateUserRequest) })
  update(
    @Req() req: AppRequest,
    @Param('username', UsernameParam) username: string,
    @Body(new ZodPipe(UpdateUserRequest)) body: UpdateUserRequest,
  ): Promise<UserView> {
    return this.users.update(req, username, body);
  }

  @Get('users/:username/tokens')
  @Roles('admin', 'manager')
  @ApiOperation({ summary: "The account's device tokens (never the tokens themselves); managers read them too." })
  tokens(@Param('username', UsernameParam) username: string): Promise<TokenView[]> {
    return this.users.listTokens(username);
  }

  @Post('users/:username/tokens')
  @ApiOperation({ summary: 'Issue a device token; the answer is the only time it is shown.' })
  @ApiBody({ schema: openApiSchema(CreateTokenRequest) })
  issue(
    @Req() req: AppRequest,
    @Param('username', UsernameParam) username: string,
    @Body(new ZodPipe(CreateTokenRequest)) body: CreateTokenRequest,
  ): Promise<CreatedToken> {
    return this.users.issueToken(req, username, body.device);
  }

  @Delete('tokens/:id')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke a device token; it is refused from the next request on.' })
  revoke(@Req() req: AppRequest, @Param('id', TokenIdParam) id: string): Promise<TokenView> {
    return this.users.revokeToken(req, id);
  }
}
