module.exports = require('../jest.preset')({ displayName: 'tools', rootDir: __dirname });
