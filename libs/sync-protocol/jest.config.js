module.exports = require('../../jest.preset')({ displayName: 'sync-protocol', rootDir: __dirname });
