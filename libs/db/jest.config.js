module.exports = require('../../jest.preset')({ displayName: 'db', rootDir: __dirname });
