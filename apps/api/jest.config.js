// The API's tests run in a time zone with daylight saving, so that schedules, backup names and
// retention are checked across the clock changes (workers inherit this from the parent process).
process.env.TZ = 'America/Toronto';
module.exports = require('../../jest.preset')({ displayName: 'api', rootDir: __dirname });
