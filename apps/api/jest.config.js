// The API's tests run in a time zone with daylight saving, so that schedules, backup names and
// retention are checked across the clock changes (workers inherit this from the parent process).
process.env.TZ = 'America/Toronto';
// Unit specs sit beside the code (src/**/*.spec.ts); the HTTP suites, which start the whole
// application on a temporary data directory, are in test/*.api-spec.ts, named by feature.
module.exports = require('../../jest.preset')({
  displayName: 'api',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.api-spec.ts'],
});
