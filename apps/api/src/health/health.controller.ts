import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { MasterStore } from '@cacpq/db';
import { PROTOCOL_VERSION, type LivenessResponse, type ReadinessResponse } from '@cacpq/sync-protocol';
import { Public } from '../auth/decorators';
import { ApiException } from '../common/api-exception';
import { SERVER_VERSION } from '../version';

const startedAt = new Date();

@ApiTags('health')
@Public()
@Controller('api/health')
export class HealthController {
  constructor(private readonly store: MasterStore) {}

  @Get()
  @ApiOperation({ summary: 'Liveness: the process answers. No authentication.' })
  live(): LivenessResponse {
    return { status: 'ok', uptimeSeconds: Math.round(process.uptime()), version: SERVER_VERSION };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: the master files are open; SQLite version and generation. No authentication.' })
  ready(): ReadinessResponse {
    if (!this.store.isOpen) throw new ApiException('SERVICE_UNAVAILABLE', 'The master store is closed; the server is shutting down.');
    const files = this.store.files().map(({ name, open, bytes, walBytes }) => ({ name, open, bytes, walBytes }));
    return {
      ready: files.every((f) => f.open),
      files,
      sqliteVersion: this.store.sqliteVersion,
      generation: this.store.generation,
      protocolVersion: PROTOCOL_VERSION,
      dataDir: this.store.layout.root,
      startedAt: startedAt.toISOString(),
    };
  }
}
