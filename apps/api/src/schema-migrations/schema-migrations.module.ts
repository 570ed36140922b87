import { Module } from '@nestjs/common';
import { BackupsModule } from '../backups/backups.module';
import { JobsModule } from '../jobs/jobs.module';
import { SchemaModule } from '../schema/schema.module';
import { SchemaMigrationsController } from './schema-migrations.controller';
import { SchemaMigrationsService } from './schema-migrations.service';

/** The app's additive migrations, previewed and applied on the server (after a verified backup). */
@Module({
  imports: [SchemaModule, BackupsModule, JobsModule],
  providers: [SchemaMigrationsService],
  controllers: [SchemaMigrationsController],
})
export class SchemaMigrationsModule {}
