import { Controller, Get, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { MasterStore } from '@cacpq/db';
import { PROTOCOL_VERSION, type LivenessResponse, type ReadinessResponse } from '@cacpq/sync-protocol';
import { AuthGuard } from '../auth/auth.guard';
import { Public } from '../common/decorators';
import type { AppRequest } from '../common/request-context';
import { ApiException } from '../common/api-exception';
import { SERVER_VERSION } from '../version';

const startedAt = new Date();

@ApiTags('health')
@Public()
@Controller('api/health')
export class HealthController {
  constructor(
    private readonly store: MasterStore,
    private readonly guard: AuthGuard,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Liveness: the process answers. No authentication.' })
  live(): LivenessResponse {
    return { status: 'ok', uptimeSeconds: Math.round(process.uptime()), version: SERVER_VERSION };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: the master files are open; SQLite version and generation. No authentication.' })
  async ready(@Req() req: AppRequest): Promise<ReadinessResponse> {
    if (!this.store.isOpen) throw new ApiException('SERVICE_UNAVAILABLE', 'The master store is closed; the server is shutting down.');
    // Anyone may ask whether the server is ready; sizes and paths only for managers and admins.
    const detailed = await this.guard.authenticate(req).then(
      () => req.principal?.role === 'admin' || req.principal?.role === 'manager',
      () => false,
    );
    const files = this.store
      .files()
      .map(({ name, open, bytes, walBytes }) => (detailed ? { name, open, bytes, walBytes } : { name, open }));
    return {
      ready: files.every((f) => f.open),
      files,
      sqliteVersion: this.store.sqliteVersion,
      generation: this.store.generation,
      protocolVersion: PROTOCOL_VERSION,
      ...(detailed ? { dataDir: this.store.layout.root, startedAt: startedAt.toISOString() } : {}),
    };
  }
}
