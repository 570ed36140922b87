import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuditQuery, type AuditEntryView } from '@cacpq/sync-protocol';
import { Roles } from '../common/decorators';
import { ZodPipe } from '../common/zod';
import { AuditService } from './audit.service';

@ApiTags('audit')
@Roles('admin', 'manager')
@Controller('api/v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOperation({
    summary:
      'The audit log, newest first (managers read it too); page with `before` (an entry id); filter by actor, action, outcome, from/to.',
  })
  list(@Query(new ZodPipe(AuditQuery, 'query')) q: AuditQuery): Promise<AuditEntryView[]> {
    return this.audit.list(q);
  }
}
