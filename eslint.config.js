import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bin/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-control-regex': 'off',
    },
  },
  // Rules that need type information (the TypeScript project of each file: tsconfig.json).
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A promise nobody awaits loses its rejection: await it, return it, or `void` it where
      // fire-and-forget is meant (and its errors are handled there).
      '@typescript-eslint/no-floating-promises': 'error',
      // No promise where a boolean or a void callback is expected (an `if (promise)`, an async
      // event listener whose rejection nobody sees).
      '@typescript-eslint/no-misused-promises': 'error',
      // A switch over a union names every member, or says with `default` what the rest means:
      // a member added to the union is then a compile-time question, not a silent fall-through.
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
    },
  },
);
