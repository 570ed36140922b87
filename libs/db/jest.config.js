// As the API's: a time zone with clock changes, so that backup names and local dates are checked
// across them (workers inherit this from the parent process).
process.env.TZ = 'America/Toronto';
module.exports = require('../../jest.preset')({ displayName: 'db', rootDir: __dirname });
