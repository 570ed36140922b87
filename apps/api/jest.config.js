module.exports = require('../../jest.preset')({ displayName: 'api', rootDir: __dirname });
