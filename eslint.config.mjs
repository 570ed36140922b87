import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '**/.next/**', 'e2e/artifacts/**', '**/next-env.d.ts', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': 'off',
      eqeqeq: ['error', 'always'],
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        process: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The dependency rule of the design: the contract and SDK stand alone; the dashboard never touches libs/db.
    files: ['libs/sync-protocol/**/*.ts', 'libs/sync-client/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['@cacpq/db', '**/apps/**', '**/libs/db/**'] }] },
  },
  {
    // The contract is imported by the browser: nothing of Node, the SDK or its native modules (its specs may use Node).
    files: ['libs/sync-protocol/**/*.ts'],
    ignores: ['libs/sync-protocol/**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: builtinModules.map((name) => ({
            name,
            message: 'The contract must stay browser-safe: Node modules go in libs/sync-client.',
          })),
          patterns: [
            { group: ['node:*'], message: 'The contract must stay browser-safe: Node modules go in libs/sync-client.' },
            {
              group: ['better-sqlite3', 'undici', 'socket.io-client', '@cacpq/sync-client', '**/libs/sync-client/**'],
              message: 'The contract must stay browser-safe: the SDK and its dependencies go in libs/sync-client.',
            },
            { group: ['@cacpq/db', '**/apps/**', '**/libs/db/**'], message: 'The contract and the SDK stand alone.' },
          ],
        },
      ],
    },
  },
  {
    files: ['apps/web/**/*.ts', 'apps/web/**/*.tsx'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['@cacpq/db', '**/libs/db/**', '**/apps/api/**'] }] },
  },
  {
    // The data-access rule: SQL lives in libs/db (repositories, statements, migrations); services hold logic.
    files: ['apps/api/src/**/*.ts'],
    ignores: ['apps/api/src/**/*.spec.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.property.name='prepare']",
          message: 'SQL belongs in a repository of libs/db (see libs/db/src/repositories), not in a service.',
        },
      ],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'better-sqlite3',
              message: 'Database access goes through libs/db (the master store and its repositories).',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    files: ['tools/bin/*.js'],
    rules: { 'no-console': 'off' },
  },
);
