import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const STORAGE_PATH = '(^|[/\\\\])storage([/\\\\]|$)';
const STORAGE_SELECTOR = STORAGE_PATH.replaceAll('/', '\\x2F'); // esquery regexes end at the first `/`
const STORAGE_RULE = 'Only src/storage, src/local and src/composition import storage; declare a port in the core and wire it in src/composition/services.ts.';
const ADAPTER_PATH = '^\\.{1,2}[/\\\\](.*[/\\\\])?(storage|sources|config|composition|functions|local)([/\\\\]|$)';
const ADAPTER_RULE = 'The core (webhooks, pipeline, outbound, auth, http, telemetry, shared) never imports an adapter; declare what it needs and let src/composition hand it over.';
const CREATE_REQUIRE = ['module', 'node:module'].map((name) => ({ name, importNames: ['createRequire'], message: 'require() would slip past the storage rule.' }));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.azurite/**', 'tools/**', 'infra/**/*.json'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'scripts/*.mjs'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-confusing-void-expression': 'off',
      '@typescript-eslint/no-extraneous-class': 'off',
    },
  },
  {
    // Cycles of value imports between files, flagged in the editor. It always skips type-only imports, so `npm run lint`
    // also runs scripts/check-import-cycles.ts, which counts them, for files and folders alike.
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/extensions': ['.ts'], 'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.json' })] },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    // The core owns its ports: only the adapters' own folder, the composition root and the local runtime see storage.
    // The selectors catch what no-restricted-imports skips: import(), typeof import() and require; `\\` separators too.
    files: ['src/**/*.{ts,mts,cts,tsx}'],
    ignores: ['src/storage/**', 'src/local/**', 'src/composition/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ regex: STORAGE_PATH, message: STORAGE_RULE }],
        paths: CREATE_REQUIRE,
      }],
      'no-restricted-syntax': ['error',
        ...['ImportExpression', 'TSImportType'].map((node) => ({ selector: `${node}[source.value=/${STORAGE_SELECTOR}/]`, message: STORAGE_RULE })),
        { selector: "ImportExpression[source.type!='Literal']", message: 'import() takes a string literal here, so the storage rule can check it.' },
        { selector: `CallExpression[callee.name='require'][arguments.0.value=/${STORAGE_SELECTOR}/]`, message: STORAGE_RULE },
      ],
    },
  },
  {
    // The core never depends on an adapter (this replaces the storage rule's options for these files, so it repeats them).
    files: ['src/{webhooks,pipeline,outbound,auth,http,telemetry,shared}/**/*.{ts,mts,cts,tsx}'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ regex: STORAGE_PATH, message: STORAGE_RULE }, { regex: ADAPTER_PATH, message: ADAPTER_RULE }],
        paths: CREATE_REQUIRE,
      }],
    },
  },
  {
    // node:test's describe/it return promises the runner awaits; tests index arrays defensively.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-unnecessary-condition': 'off',
      '@typescript-eslint/no-dynamic-delete': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
