import { Module } from '@nestjs/common';
import { HealthController } from './health.controller';
import { AuthModule } from '../auth/auth.module';

/** Health checks for the NAS, load balancers and containers. */
@Module({
  imports: [AuthModule],
  controllers: [HealthController],
})
export class HealthModule {}
