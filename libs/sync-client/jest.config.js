module.exports = require('../../jest.preset')({ displayName: 'sync-client', rootDir: __dirname });
