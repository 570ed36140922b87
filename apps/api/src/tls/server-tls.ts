import { Controller, Get, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { ServerTlsView } from '@cacpq/sync-protocol';
import type { AppRequest } from '../common/request-context';
import type { TlsMaterial } from './tls-material';

/** What the server serves over TLS (null: plain HTTP), given to the application at start. */
export class ServerTls {
  constructor(
    readonly material: TlsMaterial | null,
    readonly httpPort: number | undefined,
  ) {}

  view(requestSecure: boolean): ServerTlsView {
    const m = this.material;
    if (!m) return { mode: 'off', requestSecure };
    return {
      mode: m.mode,
      requestSecure,
      fingerprint: m.fingerprint,
      subject: m.subject,
      names: m.names,
      validFrom: m.validFrom,
      validTo: m.validTo,
      ...(this.httpPort !== undefined ? { httpPort: this.httpPort } : {}),
    };
  }
}

@ApiTags('health')
@Controller('api/v1/server/tls')
export class ServerTlsController {
  constructor(private readonly tls: ServerTls) {}

  @Get()
  @ApiOperation({
    summary: "The server's HTTPS certificate: mode, SHA-256 fingerprint (what workstations pin), names and validity. Any signed-in role.",
  })
  get(@Req() req: AppRequest): ServerTlsView {
    return this.tls.view(req.secure);
  }
}
