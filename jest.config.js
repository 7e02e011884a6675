// Two projects: unit tests beside the code, and the end-to-end suite that drives the real control plane.
// ESM end to end (client-node 2.x is ESM-only), so jest runs with --experimental-vm-modules and ts-jest useESM.
const esm = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  testEnvironment: 'node',
};

/** @type {import('jest').Config} */
export default {
  projects: [
    {
      ...esm,
      displayName: 'unit',
      testMatch: ['<rootDir>/{pkg,operator,webhook,cmd,hack}/**/*.test.ts'],
    },
    {
      ...esm,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
      slowTestThreshold: 60,
      setupFilesAfterEnv: ['<rootDir>/test/e2e/support/setup.ts'],
      globalSetup: '<rootDir>/test/e2e/support/global-setup.mjs',
      globalTeardown: '<rootDir>/test/e2e/support/global-teardown.mjs',
    },
  ],
};
