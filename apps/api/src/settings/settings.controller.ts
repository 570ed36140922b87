import { Body, Controller, Get, Patch, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { AuditService } from '../audit/audit.service';
import { Roles } from '../common/decorators';
import type { AppRequest } from '../common/request-context';
import { ZodPipe } from '../common/zod';
import { SettingsService, type SettingKey } from '../settings/settings.service';

const SettingsPatch = z
  .record(z.string(), z.union([z.string(), z.number()]))
  .refine((o) => Object.keys(o).length > 0, 'give at least one setting');
type SettingsPatch = z.infer<typeof SettingsPatch>;

@ApiTags('settings')
@Controller('api/v1')
export class SettingsController {
  constructor(
    private readonly settings: SettingsService,
    private readonly audit: AuditService,
  ) {}

  @Get('settings')
  @Roles('admin', 'manager')
  @ApiOperation({
    summary: 'Run-time settings: schedules, retention, sync interval, number formats (managers read them; admins change them).',
  })
  getSettings(): Record<string, number | string> {
    return this.settings.all();
  }

  @Patch('settings')
  @Roles('admin')
  @ApiOperation({ summary: 'Change settings (schedules as five-field cron or "off", retention counts).' })
  async patchSettings(
    @Req() req: AppRequest,
    @Body(new ZodPipe(SettingsPatch)) body: SettingsPatch,
  ): Promise<Record<string, number | string>> {
    const checked = Object.entries(body).map(([key, value]) => [key, this.settings.validate(key, value)] as const);
    for (const [key, value] of checked) await this.settings.set(key as SettingKey, value as never, req.principal!.username);
    await this.audit.record(req, { action: 'settings.change', details: Object.fromEntries(checked) });
    return this.settings.all();
  }
}
