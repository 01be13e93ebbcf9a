// ESLint for pipeline/ and test/ (`make lint`; `make test` runs it). The
// recommended JavaScript and typescript-eslint rules, without type
// information (seconds, not minutes: tsc --noEmit already type-checks).
// Formatting is Prettier's job (its options are in package.json), so no
// stylistic rule is enabled here. Lives under builder/ because the top
// level of the checkout is fixed; run with `eslint -c builder/lint/eslint.config.js`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'dist.*/**', 'tools-cache/**', 'images/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['pipeline/**/*.{ts,js,mjs}', 'test/**/*.{ts,js,mjs}', 'builder/**/*.{js,mjs}'],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        performance: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        fetch: 'readonly',
        TextDecoder: 'readonly',
        TextEncoder: 'readonly',
        structuredClone: 'readonly',
        queueMicrotask: 'readonly',
        NodeJS: 'readonly',
      },
    },
    rules: {
      // tsc's noUnusedLocals/noUnusedParameters report these already, with the compiler's exceptions.
      '@typescript-eslint/no-unused-vars': 'off',
      // Literal runs of spaces match the columns of printed tables; `{2}` would hide that.
      'no-regex-spaces': 'off',
    },
  },
  // Tests reach into untyped JSON (fixtures they edit); pipeline/ code keeps the rule.
  { files: ['test/**/*.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
);
