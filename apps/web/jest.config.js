// The dashboard's component tests: React components rendered into a real DOM (jsdom) with
// @testing-library/react; only the network is stubbed (see src/testing/api-stub.ts). Same preset
// as the other projects, with TSX (react-jsx), jsdom, and stylesheet imports mapped away.
const path = require('node:path');

// Dates and times are shown in the server's zone, as the API's tests see them (daylight saving included).
process.env.TZ = 'America/Toronto';

const preset = require('../../jest.preset')({
  displayName: 'web',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/src/**/*.spec.tsx'],
});

module.exports = {
  ...preset,
  testEnvironment: 'jsdom',
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: path.join(__dirname, 'tsconfig.spec.json') }],
  },
  moduleNameMapper: {
    '\\.css$': path.join(__dirname, 'src/testing/style-stub.ts'),
    ...preset.moduleNameMapper,
  },
  setupFilesAfterEnv: [path.join(__dirname, 'src/testing/setup.ts')],
  testTimeout: 15000,
};
