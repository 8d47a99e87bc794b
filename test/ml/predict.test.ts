import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeExport, writeUint8Variant } from '../serve/export-fixture.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(REPO, 'bin/kd-pipeline.js');
const predict = (...args: string[]) => spawnSync('node', [CLI, 'predict', ...args], { encoding: 'utf8' });

describe('kd-pipeline predict', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await writeExport(path.join(mkdtempSync(path.join(tmpdir(), 'kd-predict-')), 'export'), 'fp-1');
    writeUint8Variant(dir);
  });

  it('prints label and probabilities as JSON, quickly', () => {
    const started = Date.now();
    const result = predict('Ein schön guter Film!', '--model', dir, '--json');
    const elapsed = Date.now() - started;
    expect(result.status, result.stderr).toBe(0);
    const answer = JSON.parse(result.stdout);
    expect(answer.label).toBe('positive');
    expect(answer.probabilities.positive).toBeGreaterThan(0.9);
    expect(answer.probabilities.negative + answer.probabilities.positive).toBeCloseTo(1);
    expect(answer.model).toMatchObject({ name: 'kd-student', fingerprint: 'fp-1' });
    expect(elapsed).toBeLessThan(5000);
  });

  it('prints a readable answer and uses a quantised variant', () => {
    const result = predict('awful, I hate it', '--model', dir, '--variant', 'uint8');
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^negative\n {2}negative\s+(0\.9\d+|1\.0000)\n {2}positive\s+0\.0\d+\n$/);
  });

  it('names a missing export or a bad variant', () => {
    expect(predict('x', '--model', path.join(tmpdir(), 'no-such-export')).stderr).toMatch(/no such export directory/);
    expect(predict('x', '--model', dir, '--variant', 'int4').stderr).toMatch(/--variant must be one of float16, uint8/);
  });
});
