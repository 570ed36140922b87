import { Body, Controller, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ConflictQuery, ResolveConflictRequest, type ConflictView } from '@cacpq/sync-protocol';
import { z } from 'zod';
import { Roles } from '../common/decorators';
import type { AppRequest } from '../common/request-context';
import { ZodPipe, openApiSchema } from '../common/zod';
import { ConflictsService } from './conflicts.service';

const ConflictId = new ZodPipe(
  z.coerce.number().int('must be a conflict id (a whole number)').min(1, 'must be a conflict id (a whole number)'),
  'path',
);

@ApiTags('conflicts')
@Controller('api/v1/conflicts')
export class ConflictsController {
  constructor(private readonly conflicts: ConflictsService) {}

  @Get()
  @Roles('admin', 'manager')
  @ApiOperation({ summary: 'Conflicts with both full versions, who and when; open ones by default.' })
  list(@Query(new ZodPipe(ConflictQuery, 'query')) q: ConflictQuery): ConflictView[] {
    return this.conflicts.list(q);
  }

  @Get(':id')
  @Roles('admin', 'manager')
  @ApiOperation({ summary: 'One conflict.' })
  get(@Param('id', ConflictId) id: number): ConflictView {
    return this.conflicts.get(id);
  }

  @Post(':id/resolve')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({ summary: 'Resolve: keep the winner, take the loser, or merged values; the result syncs to everyone.' })
  @ApiBody({ schema: openApiSchema(ResolveConflictRequest) })
  resolve(
    @Req() req: AppRequest,
    @Param('id', ConflictId) id: number,
    @Body(new ZodPipe(ResolveConflictRequest)) body: ResolveConflictRequest,
  ): Promise<ConflictView> {
    return this.conflicts.resolve(req, id, body);
  }
}
