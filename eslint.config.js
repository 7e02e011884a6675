// eslint with typescript-eslint's recommended rules, plus the project's import boundaries: pkg/ stands alone,
// operator/ and webhook/ never import each other, folders are entered only through their index.ts, and client-node
// gives types only.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// client-node is used for its types only: its entry point loads every generated model and API (about 45 MiB of
// resident memory); pkg/kube is the client.
const clientNodeTypesOnly = {
  name: '@kubernetes/client-node',
  allowTypeImports: true,
  message: 'Use client-node for types only (import type); the API client is pkg/kube.',
};

const deepImport = {
  regex: '/pkg/(?!(api/v1|[a-z-]+)/index\\.js$)',
  message: 'Import a pkg/ folder through its index.ts.',
};

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.tools/', 'bin/', 'coverage/', '.local/', '.e2e/', 'test-results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['pkg/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [clientNodeTypesOnly],
          patterns: [
            {
              group: ['**/operator/**', '**/webhook/**', '**/cmd/**'],
              message: 'pkg/ must not depend on operator/, webhook/ or cmd/.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['operator/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [clientNodeTypesOnly],
          patterns: [
            { group: ['**/webhook/**'], message: 'operator/ and webhook/ meet only in cmd/main.ts.' },
            deepImport,
          ],
        },
      ],
    },
  },
  {
    files: ['webhook/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [clientNodeTypesOnly],
          patterns: [
            { group: ['**/operator/**'], message: 'operator/ and webhook/ meet only in cmd/main.ts.' },
            deepImport,
          ],
        },
      ],
    },
  },
  {
    files: ['cmd/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [clientNodeTypesOnly],
          patterns: [
            {
              group: ['**/operator/*', '**/webhook/*', '!**/operator/index.js', '!**/webhook/index.js'],
              message: 'Import operator/ and webhook/ through their index.ts.',
            },
            deepImport,
          ],
        },
      ],
    },
  },
);
