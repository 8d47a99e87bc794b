import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '../..');

describe('kd-pipeline doctor', () => {

  it('reports versions, the backend that loads with the reasons the others did not, and MLflow', () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'kd-doctor-'));
    const result = spawnSync('node', [path.join(REPO, 'bin/kd-pipeline.js'), 'doctor', '--json'], { cwd, encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.node).toBe(process.versions.node);
    expect(report.tfjs).toMatch(/^\d+\.\d+\.\d+$/);
    expect(typeof report.backend).toBe('string');
    const loaded = report.attempts.filter((a: { loaded: boolean }) => a.loaded);
    expect(loaded).toHaveLength(1);
    expect(report.attempts.at(-1)).toEqual(loaded[0]);
    for (const failed of report.attempts.slice(0, -1)) expect(failed.error).toEqual(expect.any(String));
    expect(Object.keys(report.tracking).sort()).toEqual(['detail', 'reachable', 'uri']);
    expect(report.tracking).toMatchObject({ reachable: expect.any(Boolean), detail: expect.any(String) });
  });
});
