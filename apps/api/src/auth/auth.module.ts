import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthController } from './auth.controller';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';
import { DeviceTokensService } from './device-tokens.service';
import { DirectoryService } from './directory/directory.service';
import { LocalCliTokenService } from './local-cli-token.service';
import { Revocations } from './revocations';
import { SessionsService } from './sessions.service';

/** Sign-in, sessions, device tokens, the company directory and the guard on every route. */
@Module({
  providers: [
    Revocations,
    SessionsService,
    DeviceTokensService,
    LocalCliTokenService,
    DirectoryService,
    AuthService,
    AuthGuard,
    // Every route is guarded unless marked public.
    { provide: APP_GUARD, useExisting: AuthGuard },
  ],
  controllers: [AuthController],
  exports: [AuthGuard, Revocations, SessionsService, DeviceTokensService],
})
export class AuthModule {}
