import { describe, it } from 'vitest';

type TestBody = () => unknown;

export interface Guarded {
  it(name: string, body: TestBody, timeoutMs?: number): void;
  describe(name: string, body: () => void): void;
}

/** Whether this is a CI run (`CI=true`, as GitHub Actions, GitLab and most CI services set it). */
export function inCI(): boolean {
  return /^(true|1|yes)$/i.test(process.env.CI ?? '');
}

/**
 * Tests that need something this machine may lack (a tfjs-node build, a tmpfs mount). `missing`
 * says what is absent and why (undefined: present, the tests run as usual); `install` says how
 * to get it. A skipped test passes silently, so in CI, where everything must be in place, a
 * missing prerequisite fails each test naming it; elsewhere the tests are skipped and the
 * reason printed once.
 */
export function needs(missing: string | undefined, install: string): Guarded {
  if (missing === undefined) return { it: (name, body, timeoutMs) => it(name, body, timeoutMs), describe: (name, body) => describe(name, body) };
  const message = `${missing}; ${install}`;
  if (inCI()) {
    const fail = (): never => {
      throw new Error(`missing prerequisite under CI=true: ${message}`);
    };
    return { it: (name) => it(name, fail), describe: (name) => describe(name, () => it('has its prerequisite', fail)) };
  }
  console.warn(`skipped (missing prerequisite; CI=true would fail instead): ${message}`);
  return { it: (name, body) => it.skip(name, body), describe: (name, body) => describe.skip(name, body) };
}
