import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Roles } from '../common/decorators';
import { MetricsService } from './metrics.service';

/** Outside `/api`, where Prometheus looks by default; the dashboard proxy leaves `/metrics` to this server. */
@ApiTags('monitoring')
@Controller('metrics')
@Roles('admin', 'manager')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @ApiOperation({
    summary:
      'Prometheus text exposition (version 0.0.4): sync durations, counts, records and conflicts, last verified backup, database and WAL sizes, maintenance, jobs, open conflicts, process metrics. A manager or admin token or session.',
  })
  @ApiProduces('text/plain; version=0.0.4; charset=utf-8')
  @ApiOkResponse({ description: 'The metrics in the Prometheus text format.', schema: { type: 'string' } })
  async scrape(@Res() res: Response): Promise<void> {
    const { contentType, text } = await this.metrics.exposition();
    res.status(200).setHeader('Content-Type', contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.end(text);
  }
}
