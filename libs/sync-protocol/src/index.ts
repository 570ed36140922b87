export * from './errors';
export * from './accounts';
export * from './health';
export * from './validation';
export * from './sync';
export * from './operations';
export * from './client/sync-client';
export * from './client/local-schema';
