import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyFlags } from './tiny-settings.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const exec = promisify(execFile);


let root: string;
let app: string;

/** The environment a user's shell has: nothing of this repository's (its .npmrc's onnxruntime skip among it). */
function env(): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const key of Object.keys(out)) if (/^(npm_|ONNXRUNTIME_)/i.test(key) || key === 'MLFLOW_TRACKING_URI') delete out[key];
  return out;
}

/** The README's install line for a project of one's own (the block after its `install-from-registry` marker). */
function readmeInstallLine(): string {
  const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const block = /<!-- install-from-registry[^>]*-->\s*```sh\n([^\n]+)\n```/.exec(readme);
  if (!block) throw new Error('README.md: no ```sh block after the install-from-registry marker');
  return block[1]!;
}

/** The installed package's own bin, run from `cwd` as `npx kd-pipeline` would. */
const kd = (cwd: string, args: string[]) => exec(path.join(app, 'node_modules', '.bin', 'kd-pipeline'), args, { cwd, env: env(), maxBuffer: 1 << 26 });

// What users meet: `npm pack`'s tarball installed into an empty folder, no repository beside it.
beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'kd-packed-'));
  // dist/ is compiled by the test setup; --ignore-scripts skips compiling it again.
  const { stdout } = await exec('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', root], { cwd: REPO, env: env() });
  const tarball = path.join(root, stdout.trim().split('\n').at(-1)!);
  app = path.join(root, 'app');
  mkdirSync(app);
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'user-app', version: '1.0.0', private: true }));
  // Installed as the README tells users to, the package name swapped for the tarball.
  const install = readmeInstallLine().replace(/ kd-pipeline$/, ` ${tarball} --no-audit --no-fund --prefer-offline`);
  expect(install).toContain(tarball);
  await exec('sh', ['-c', install], { cwd: app, env: env(), maxBuffer: 1 << 26 });
}, 600_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('the packed npm package, installed into an empty folder', () => {
  it('ships the compiled CLI, the default pipeline and the data set, and nothing of the repository besides', () => {
    const pkg = path.join(app, 'node_modules', 'kd-pipeline');
    for (const file of ['bin/kd-pipeline.js', 'dist/lib/cli/main.js', 'pipeline.yaml', 'params.yaml', 'data/sentiment-labelled-sentences.csv']) {
      expect(existsSync(path.join(pkg, file)), file).toBe(true);
    }
    for (const dir of ['test', 'lib', 'bench', 'models', '.kd']) expect(existsSync(path.join(pkg, dir)), dir).toBe(false);
  });

  it('init, then run trains, distils, evaluates and exports; predict uses the export', async () => {
    const project = path.join(root, 'project');
    mkdirSync(project);
    // A tenth of the embedded reviews keeps the run short; init checks the file and copies it in.
    const lines = readFileSync(path.join(REPO, 'data', 'sentiment-labelled-sentences.csv'), 'utf8').trimEnd().split('\n');
    writeFileSync(path.join(project, 'reviews.csv'), `${lines.filter((_, i) => i % 10 === 0).join('\n')}\n`);
    await kd(project, ['init', '--data', 'reviews.csv']);

    const run = await kd(project, ['run', '--json', ...tinyFlags()]);
    const stages = (JSON.parse(run.stdout) as { stages: { name: string; result: string }[] }).stages;
    expect(stages.length).toBeGreaterThanOrEqual(9);
    expect(stages.filter((s) => s.result !== 'ran')).toEqual([]);
    const metrics = JSON.parse(readFileSync(path.join(project, 'artifacts', 'metrics.json'), 'utf8')) as Record<string, number>;
    expect(metrics['teacher.accuracy']).toBeGreaterThan(0.5);
    expect(metrics['student.accuracy']).toBeGreaterThan(0);

    const predicted = JSON.parse((await kd(project, ['predict', 'The food was wonderful and the staff friendly', '--json'])).stdout);
    expect(JSON.stringify(predicted)).toMatch(/positive|negative/);
  });
});
