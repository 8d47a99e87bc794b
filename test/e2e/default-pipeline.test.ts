import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { tinyFlags, tinyProject } from './tiny-settings.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const exec = promisify(execFile);

interface RunJson {
  stages: { name: string; result: string }[];
}

const STAGES = 10;

/** The embedding cache's segment files: a run that encodes nothing new leaves them as they were. */
function embeddingSegments(root: string): string[] {
  const dir = join(root, '.kd', 'embeddings');
  return existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith('.seg')).sort() : [];
}

async function kd(root: string, args: string[]) {
  const env = { ...process.env };
  delete env.MLFLOW_TRACKING_URI;
  return exec(process.execPath, [join(repo, 'bin', 'kd-pipeline.js'), ...args], { cwd: root, env, maxBuffer: 1 << 26 });
}

const results = (out: string) => Object.fromEntries((JSON.parse(out) as RunJson).stages.map((s) => [s.name, s.result]));

describe('the default pipeline, end to end through `kd-pipeline run`', () => {
  let root: string;
  beforeAll(() => {
    root = tinyProject();
  });

  it('runs every stage, then nothing, and exports a student that predicts', async () => {
    const first = await kd(root, ['run', '--json', ...tinyFlags()]);
    expect(Object.values(results(first.stdout))).toEqual(Array(STAGES).fill('ran'));
    expect(embeddingSegments(root).length).toBeGreaterThan(0);
    const metrics = JSON.parse(readFileSync(join(root, 'artifacts', 'metrics.json'), 'utf8')) as Record<string, number>;
    for (const key of ['teacher.accuracy', 'student.accuracy', 'baseline.accuracy', 'student.params', 'teacher.params', 'student.latency_p50_ms']) {
      expect(metrics[key], key).toBeTypeOf('number');
    }
    // The teacher is the pretrained transformer: its 22.6M encoder parameters count. How much faster
    // the student is per sentence is a timing, measured by npm run bench:distill, not asserted here.
    expect(metrics['teacher.params']).toBeGreaterThan(22_000_000);
    expect(metrics['teacher.params']! / metrics['student.params']!).toBeGreaterThan(100);
    expect(metrics['student.latency_speedup']).toBeGreaterThan(0);
    expect(existsSync(join(root, 'artifacts', 'report', 'index.html'))).toBe(true);
    for (const file of ['model.json', 'vocab.json', 'labels.json', 'model-card.md', 'float16/model.json', 'uint8/model.json', 'tokenizer.json', 'tokenizer_config.json']) {
      expect(existsSync(join(root, 'artifacts', 'export', file)), file).toBe(true);
    }
    // The default student reads the teacher's pieces: its export carries the tokenizer that defines its input.
    const preprocessing = JSON.parse(readFileSync(join(root, 'artifacts', 'export', 'preprocessing.json'), 'utf8')) as { tokenizer: string; max_len: number };
    expect(preprocessing).toMatchObject({ tokenizer: 'pieces', max_len: 256 });

    const again = await kd(root, ['run', '--json']);
    expect(Object.values(results(again.stdout))).toEqual(Array(STAGES).fill('skipped'));
    await expect(kd(root, ['status', '--check'])).resolves.toBeDefined();

    const predicted = JSON.parse((await kd(root, ['predict', 'Ein wunderbarer Film, très bien!', '--json'])).stdout) as { label: string };
    const labels = JSON.parse(readFileSync(join(root, 'artifacts', 'export', 'labels.json'), 'utf8')) as string[];
    expect(labels).toHaveLength(2);
    expect(labels).toContain(predicted.label);
  }, 600_000);

  it('a student param reruns train-student, evaluate and export only, re-encoding nothing; reverting it restores them from the run-cache', async () => {
    const segments = embeddingSegments(root);
    const changed = results((await kd(root, ['run', '--json', '--set', 'student.temperature=2'])).stdout);
    expect(embeddingSegments(root)).toEqual(segments);
    expect(Object.entries(changed).filter(([, r]) => r === 'ran').map(([n]) => n)).toEqual(['train-student', 'evaluate', 'export']);
    expect(changed['train-teacher']).toBe('skipped');
    expect(changed['train-baseline']).toBe('skipped');

    const reverted = results((await kd(root, ['run', '--json', '--set', 'student.temperature=4'])).stdout);
    expect(Object.entries(reverted).filter(([, r]) => r === 'restored').map(([n]) => n)).toEqual(['train-student', 'evaluate', 'export']);
    const diff = JSON.parse((await kd(root, ['params', 'diff', '--json'])).stdout) as { params: unknown[] };
    expect(diff.params).toEqual([]);

    // Another size is another student and baseline, and relabels its transfer set (soft_labels.augment.copies
    // may give a count per size; here it gives one for all, so every sentence comes from the embedding cache).
    const resized = results((await kd(root, ['run', '--json', '--set', 'student.size=small'])).stdout);
    expect(Object.entries(resized).filter(([, r]) => r === 'ran').map(([n]) => n).sort()).toEqual(['evaluate', 'export', 'generate-soft-labels', 'train-baseline', 'train-student']);
    expect(embeddingSegments(root)).toEqual(segments);
    await kd(root, ['run', '--json', '--set', 'student.size=tiny']);
  }, 600_000);

  it('student.init and init_penalty reach the student only: the baseline starts from a random table whatever they say', async () => {
    const changed = results((await kd(root, ['run', '--json', '--set', 'student.init=random'])).stdout);
    expect(Object.entries(changed).filter(([, r]) => r === 'ran').map(([n]) => n)).toEqual(['train-student', 'evaluate', 'export']);
    expect(changed['train-baseline']).toBe('skipped');
    // The baseline trained under params.yaml's default (init: encoder) is the one trained from scratch now, under init: random.
    const weights = () => readFileSync(join(root, 'artifacts', 'baseline', 'weights.bin'));
    const before = weights();
    rmSync(join(root, 'artifacts', 'checkpoints', 'baseline'), { recursive: true, force: true });
    await kd(root, ['stage', 'train-baseline']);
    expect(weights().equals(before)).toBe(true);
    await kd(root, ['run', '--json', '--set', 'student.init=encoder']);

    // init_penalty (tiny's default 1 pulls the piece table toward that start) is the student's alone too.
    const student = () => readFileSync(join(root, 'artifacts', 'student', 'weights.bin'));
    const pulled = student();
    const free = results((await kd(root, ['run', '--json', '--set', 'student.init_penalty=0'])).stdout);
    expect(Object.entries(free).filter(([, r]) => r === 'ran').map(([n]) => n)).toEqual(['train-student', 'evaluate', 'export']);
    expect(student().equals(pulled)).toBe(false);
    await kd(root, ['run', '--json', '--set', 'student.init_penalty={tiny: 1, small: 0, base: 0}']);
    expect(student().equals(pulled)).toBe(true);
  }, 600_000);

  it('a 2×2 sweep over student keys trains only students, restores everything upstream, re-encodes nothing; apply checks the best out', async () => {
    const segments = embeddingSegments(root);
    const sweep = JSON.parse((await kd(root, ['exp', 'run', '-S', 'student.temperature=2,4', '-S', 'student.alpha=0.5,0.7', '--jobs', '2', '--name', 'grid', '--json'])).stdout) as {
      experiments: { id: string; status: string; params: Record<string, number>; stages: Record<string, string> }[];
    };
    expect(sweep.experiments.map((e) => [e.id, e.status])).toEqual([['grid.1', 'ok'], ['grid.2', 'ok'], ['grid.3', 'ok'], ['grid.4', 'ok']]);
    for (const trial of sweep.experiments) {
      const upstream = Object.entries(trial.stages).filter(([name]) => !['train-student', 'evaluate', 'export'].includes(name));
      expect(upstream.every(([, result]) => result === 'restored'), `${trial.id}: ${JSON.stringify(trial.stages)}`).toBe(true);
      // α 0.7 with T 2 ran in the test before and T 4 is the workspace's own run: the run-cache has them.
      expect(trial.stages['train-student'], trial.id).toBe(trial.params['student.alpha'] === 0.7 ? 'restored' : 'ran');
    }
    expect(embeddingSegments(root)).toEqual(segments);

    const rows = (JSON.parse((await kd(root, ['exp', 'show', 'grid', '--json', '--sort-by', 'student.accuracy'])).stdout) as { experiments: { id: string; metrics: Record<string, number> }[] }).experiments;
    expect(rows).toHaveLength(5);
    for (const row of rows.slice(1)) expect(row.metrics['student.accuracy'], row.id).toBeGreaterThan(0);
    const best = rows[1]!;
    await kd(root, ['exp', 'apply', best.id]);
    await expect(kd(root, ['status', '--check'])).resolves.toBeDefined();
    const metrics = JSON.parse(readFileSync(join(root, 'artifacts', 'metrics.json'), 'utf8')) as Record<string, number>;
    expect(metrics['student.accuracy']).toBe(best.metrics['student.accuracy']);
  }, 600_000);
});
