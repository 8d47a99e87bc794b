import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

// Runs a file of tests whose prerequisite is missing (test/fixtures/prerequisites) in vitest, as CI would.
const fixtures = path.join(import.meta.dirname, 'fixtures/prerequisites');

async function vitest(ci: string | undefined) {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.CI;
  if (ci !== undefined) env.CI = ci;
  return execa(path.join(import.meta.dirname, '../node_modules/.bin/vitest'), ['run', '--config', path.join(fixtures, 'vitest.config.ts')], { env, extendEnv: false, reject: false, all: true });
}

describe.concurrent('a missing test prerequisite', () => {
  it('fails the run under CI=true, naming what is missing and how to install it', async () => {
    const run = await vitest('true');
    expect(run.exitCode).toBe(1);
    expect(run.all).toContain('missing prerequisite under CI=true: the gadget is not installed; install it with `apt-get install gadget`');
    expect(run.all).toMatch(/Tests +2 failed \| 1 passed \(3\)/);
  });

  it('outside CI skips the tests that need it, says why, and runs the rest', async () => {
    const run = await vitest(undefined);
    expect(run.exitCode, run.all).toBe(0);
    expect(run.all).toContain('skipped (missing prerequisite; CI=true would fail instead): the gadget is not installed; install it with `apt-get install gadget`');
    expect(run.all).toMatch(/Tests +1 passed \| 2 skipped \(3\)/);
  });
});
