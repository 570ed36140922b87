import { Body, Controller, Post, Req } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { DemoSeedRequest, type DemoSeedResponse } from '@cacpq/sync-protocol';
import { Roles } from '../common/decorators';
import type { AppRequest } from '../common/request-context';
import { ZodPipe, openApiSchema } from '../common/zod';
import { DemoService } from './demo.service';

@ApiTags('demo')
@Roles('admin')
@Controller('api/v1/demo')
export class DemoController {
  constructor(private readonly demo: DemoService) {}

  @Post('seed')
  @ApiOperation({ summary: 'Fill an empty master with demo CPQ data, users and sync history (refused when it holds data).' })
  @ApiBody({ schema: openApiSchema(DemoSeedRequest) })
  seed(@Req() req: AppRequest, @Body(new ZodPipe(DemoSeedRequest)) body: DemoSeedRequest): Promise<DemoSeedResponse> {
    return this.demo.seed(req, body);
  }
}
