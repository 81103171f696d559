// Flat config: typescript-eslint's recommended rules without type information,
// so `npm run lint` stays fast enough to run in every `npm test`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', 'test-results/'] },
  // Build output of the client package and the starter SPA (packages/client/README.md).
  { ignores: ['packages/*/dist/', 'examples/*/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read the environment only in src/server.ts, src/cli.ts, bench/ and scripts/.',
        },
      ],
    },
  },
  {
    // Migrations take Kysely<any> on purpose (they must not import src types);
    // tests read JSON answers whose shape the assertions check.
    files: ['migrations/**', 'test/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: [
      'src/server.ts',
      'src/cli.ts',
      'bench/**',
      'scripts/**',
      'test/helpers/**',
      'test/e2e/**',
      'test/contract/openapi-lint.test.ts',
      'eslint.config.js',
    ],
    rules: { 'no-restricted-properties': 'off' },
  },
);
