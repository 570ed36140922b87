import { Module } from '@nestjs/common';
import { SchemaController } from './schema.controller';
import { SchemaService } from './schema.service';

/** The sync schema: learned from the master, versioned, with the admins' exclusions; the sync engine reads it. */
@Module({
  providers: [SchemaService],
  controllers: [SchemaController],
  exports: [SchemaService],
})
export class SchemaModule {}
