export * from './errors';
export * from './accounts';
export * from './health';
export * from './validation';
export * from './sync';
