import { Body, Controller, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RefusalQuery, ResubmitRefusalRequest, type RefusalView } from '@cacpq/sync-protocol';
import { z } from 'zod';
import { Roles } from '../common/decorators';
import type { AppRequest } from '../common/request-context';
import { ZodPipe, openApiSchema } from '../common/zod';
import { RefusalLog } from './refusal-log';
import { RefusalsService } from './refusals.service';

const RefusalId = new ZodPipe(
  z.coerce.number().int('must be a refused change id (a whole number)').min(1, 'must be a refused change id (a whole number)'),
  'path',
);

@ApiTags('refusals')
@Controller('api/v1/refusals')
export class RefusalsController {
  constructor(
    private readonly refusals: RefusalsService,
    private readonly log: RefusalLog,
  ) {}

  @Get()
  @Roles('admin', 'manager')
  @ApiOperation({ summary: 'Changes the server refused (open ones by default): who, which workstation, row, column, value and why.' })
  list(@Query(new ZodPipe(RefusalQuery, 'query')) q: RefusalQuery): RefusalView[] {
    return this.log.list(q);
  }

  @Get(':id')
  @Roles('admin', 'manager')
  @ApiOperation({ summary: 'One refused change, with the values the workstation sent.' })
  get(@Param('id', RefusalId) id: number): RefusalView {
    return this.refusals.get(id);
  }

  @Post(':id/accept')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({ summary: 'Take the refused value anyway (an admin override of a column rule; not of its type). Audited.' })
  accept(@Req() req: AppRequest, @Param('id', RefusalId) id: number): Promise<RefusalView> {
    return this.refusals.accept(req, id);
  }

  @Post(':id/resubmit')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({ summary: "Fix the refused values and send the change on the workstation's behalf. Audited." })
  @ApiBody({ schema: openApiSchema(ResubmitRefusalRequest) })
  resubmit(
    @Req() req: AppRequest,
    @Param('id', RefusalId) id: number,
    @Body(new ZodPipe(ResubmitRefusalRequest)) body: ResubmitRefusalRequest,
  ): Promise<RefusalView> {
    return this.refusals.resubmit(req, id, body);
  }

  @Post(':id/discard')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({ summary: 'Discard the refused change; the master keeps its row, and both versions go to the audit log.' })
  discard(@Req() req: AppRequest, @Param('id', RefusalId) id: number): Promise<RefusalView> {
    return this.refusals.discard(req, id);
  }
}
