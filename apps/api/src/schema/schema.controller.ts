import { Body, Controller, Get, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { SchemaExclusionRequest, type SchemaView } from '@cacpq/sync-protocol';
import { AuditService } from '../audit/audit.service';
import { Roles } from '../common/decorators';
import type { AppRequest } from '../common/request-context';
import { ZodPipe, openApiSchema } from '../common/zod';
import { SchemaService } from './schema.service';

@ApiTags('schema')
@Controller('api/v1/schema')
export class SchemaController {
  constructor(
    private readonly schema: SchemaService,
    private readonly audit: AuditService,
  ) {}

  @Get()
  @Roles('admin', 'manager')
  @ApiOperation({
    summary:
      'The sync schema learned from the master: every table with its columns, types, row count and whether it syncs (or why not), and the history of versions.',
  })
  get(): SchemaView {
    return this.schema.view();
  }

  @Post('exclude')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({
    summary: 'Keep a table, or one column, out of the sync (workstations stop sending and receiving it at their next sync).',
  })
  @ApiBody({ schema: openApiSchema(SchemaExclusionRequest) })
  async exclude(@Req() req: AppRequest, @Body(new ZodPipe(SchemaExclusionRequest)) body: SchemaExclusionRequest): Promise<SchemaView> {
    const e = { table: body.table, column: body.column ?? null };
    const { version, changed } = this.schema.exclude(e, req.principal!.username);
    await this.audit.record(req, {
      action: 'schema.exclude',
      target: body.column ? `${body.table}.${body.column}` : body.table,
      details: { version, changed },
    });
    return this.schema.view();
  }

  @Post('include')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({ summary: 'Sync an excluded table or column again.' })
  @ApiBody({ schema: openApiSchema(SchemaExclusionRequest) })
  async include(@Req() req: AppRequest, @Body(new ZodPipe(SchemaExclusionRequest)) body: SchemaExclusionRequest): Promise<SchemaView> {
    const e = { table: body.table, column: body.column ?? null };
    const { version, changed } = this.schema.include(e, req.principal!.username);
    await this.audit.record(req, {
      action: 'schema.include',
      target: body.column ? `${body.table}.${body.column}` : body.table,
      details: { version, changed },
    });
    return this.schema.view();
  }
}
