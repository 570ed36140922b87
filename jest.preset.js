// Shared jest settings: ts-jest (CommonJS, no type-check here; `nx run-many -t typecheck`
// does that once), the @cacpq/* path aliases, specs beside the code.
const path = require('node:path');

module.exports = ({ displayName, rootDir, testMatch, testTimeout }) => ({
  displayName,
  rootDir,
  testEnvironment: 'node',
  testMatch: testMatch ?? ['<rootDir>/src/**/*.spec.ts'],
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: path.join(__dirname, 'tsconfig.spec.json') }],
  },
  moduleNameMapper: {
    '^@cacpq/db$': path.join(__dirname, 'libs/db/src/index.ts'),
    '^@cacpq/sync-client$': path.join(__dirname, 'libs/sync-client/src/index.ts'),
    '^@cacpq/sync-protocol$': path.join(__dirname, 'libs/sync-protocol/src/index.ts'),
  },
  testTimeout: testTimeout ?? 30000,
});
