import { Body, Controller, Get, Param, Post, Put, Query, Req } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  AllocateRequest,
  NumberKind,
  NumbersQuery,
  RegisterNumbersRequest,
  ReserveRequest,
  type IssuedNumber,
  type RegisterNumbersResponse,
} from '@cacpq/sync-protocol';
import { z } from 'zod';
import { AuditService } from '../audit/audit.service';
import { Roles } from '../common/decorators';
import type { AppRequest } from '../common/request-context';
import { ZodPipe, openApiSchema } from '../common/zod';
import { WorkstationIdentity } from '../sync/workstation-identity';
import { NumbersService } from './numbers.service';

const Kind = new ZodPipe(NumberKind, 'path');
const FormatRequest = z.strictObject({ format: z.string().min(1, 'is required').max(40) });

@ApiTags('numbers')
@Controller('api/v1/numbers')
export class NumbersController {
  constructor(
    private readonly numbers: NumbersService,
    private readonly audit: AuditService,
    private readonly identity: WorkstationIdentity,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Issued and reserved numbers, newest first, with who and when.' })
  list(@Query(new ZodPipe(NumbersQuery, 'query')) q: NumbersQuery): IssuedNumber[] {
    return this.numbers.list(q);
  }

  @Post('uses')
  @ApiOperation({
    summary:
      'Register numbers a workstation took offline from its reserved block, with the record using each; a number two records use is flagged.',
  })
  @ApiBody({ schema: openApiSchema(RegisterNumbersRequest) })
  registerUses(@Req() req: AppRequest, @Body(new ZodPipe(RegisterNumbersRequest)) body: RegisterNumbersRequest): RegisterNumbersResponse {
    this.identity.observe(req, req.principal!);
    return this.numbers.registerUses(req.principal!.username, body);
  }

  @Post(':kind')
  @ApiOperation({ summary: 'Allocate the next quote or project number.' })
  @ApiBody({ required: false, schema: openApiSchema(AllocateRequest) })
  allocate(
    @Req() req: AppRequest,
    @Param('kind', Kind) kind: NumberKind,
    @Body(new ZodPipe(AllocateRequest.optional())) body?: z.infer<typeof AllocateRequest>,
  ): IssuedNumber {
    return this.numbers.allocate(
      kind,
      1,
      req.principal!.username,
      body?.clientId ?? null,
      'issued',
      new Date(),
      body?.requestId ?? null,
    )[0];
  }

  @Post(':kind/reserve')
  @ApiOperation({ summary: 'Reserve a block of numbers for offline work.' })
  @ApiBody({ schema: openApiSchema(ReserveRequest) })
  reserve(
    @Req() req: AppRequest,
    @Param('kind', Kind) kind: NumberKind,
    @Body(new ZodPipe(ReserveRequest)) body: ReserveRequest,
  ): IssuedNumber[] {
    return this.numbers.allocate(
      kind,
      body.count,
      req.principal!.username,
      body.clientId ?? null,
      'reserved',
      new Date(),
      body.requestId ?? null,
    );
  }

  @Put(':kind/format')
  @Roles('admin')
  @ApiOperation({ summary: 'Set the number format, e.g. Q{YYYY}-{SEQ:4}.' })
  @ApiBody({ schema: openApiSchema(FormatRequest) })
  async setFormat(
    @Req() req: AppRequest,
    @Param('kind', Kind) kind: NumberKind,
    @Body(new ZodPipe(FormatRequest)) body: { format: string },
  ) {
    const format = await this.numbers.setFormat(kind, body.format, req.principal!.username);
    await this.audit.record(req, { action: 'numbers.format', target: kind, details: { format } });
    return { kind, format };
  }
}
