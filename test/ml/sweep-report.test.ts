import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scatterChart } from '../../lib/ml/evaluate/charts/scatter-chart.js';
import { paretoFrontier } from '../../lib/ml/evaluate/frontier.js';
import { sweepFrontier, sweepPoints } from '../../lib/ml/evaluate/sweep-report.js';
import type { ExperimentRow } from '../../lib/pipeline/experiments/table.js';
import { distillProject } from '../pipeline/experiment-project.js';
import { removeProjects } from '../pipeline/harness.js';

afterAll(removeProjects);

const row = (id: string, metrics: Record<string, number>, status: ExperimentRow['status'] = 'ok'): ExperimentRow => ({
  id,
  sweep: id === 'workspace' ? '' : 'sizes',
  status,
  params: id === 'workspace' ? {} : { 'student.size': id },
  metrics,
  stages: {},
  seconds: null,
});

describe('Pareto frontier', () => {
  it('keeps the points nothing beats on both cost and accuracy, cheapest first', () => {
    const points = [
      { x: 100, y: 0.8 }, // 0: frontier
      { x: 10, y: 0.7 }, // 1: frontier (cheapest)
      { x: 50, y: 0.7 }, // 2: as accurate as 1, dearer
      { x: 1000, y: 0.79 }, // 3: dearer and worse than 0
      { x: 1000, y: 0.9 }, // 4: frontier
      { x: 100, y: 0.8 }, // 5: a duplicate of 0
      { x: 20, y: Number.NaN }, // 6: not a point
    ];
    expect(paretoFrontier(points)).toEqual([1, 0, 4]);
    expect(paretoFrontier([])).toEqual([]);
    expect(paretoFrontier([{ x: 1, y: 0.5 }])).toEqual([0]);
  });

  it('draws a dashed line through the frontier of the points that compete, with a legend entry', () => {
    const point = (label: string, x: number, y: number, frontier: boolean) => ({ label, x, y, color: '#000', shape: 'circle' as const, tooltip: label, frontier });
    const svg = scatterChart({
      id: 'c',
      title: 'c',
      xLabel: 'x',
      yLabel: 'y',
      formatX: String,
      ySpecifier: '~%',
      points: [point('teacher', 1e6, 0.95, false), point('a', 10, 0.7, true), point('b', 100, 0.8, true), point('c', 1000, 0.75, true)],
    });
    expect(svg).toMatch(/<polyline data-frontier="2" points="[\d.]+,[\d.]+ [\d.]+,[\d.]+"/);
    expect(svg).toContain('>Pareto frontier<');
    const alone = scatterChart({ id: 'd', title: 'd', xLabel: 'x', yLabel: 'y', formatX: String, ySpecifier: '~%', points: [point('a', 10, 0.7, true)] });
    expect(alone).not.toContain('polyline');
    expect(alone).not.toContain('Pareto');
  });

  it('reads students and one shared teacher from the rows, and says which rows it left out', () => {
    const teacher = (latency: number) => ({ 'teacher.accuracy': 0.9, 'teacher.params': 2e7, 'teacher.latency_p50_ms': latency });
    const rows = [
      row('workspace', {}),
      row('tiny', { 'student.accuracy': 0.85, 'student.params': 2e5, 'student.latency_p50_ms': 0.5, ...teacher(30) }),
      row('small', { 'student.accuracy': 0.87, 'student.params': 6e5, 'student.latency_p50_ms': 0.4, ...teacher(40) }),
      row('base', { 'student.accuracy': 0.86, 'student.params': 2e6, 'student.latency_p50_ms': 1, ...teacher(50) }),
      row('broken', {}, 'failed'),
      row('other', { 'student.accuracy': 0.5 }),
    ];
    const points = sweepPoints(rows);
    expect(points.students.map((s) => s.id)).toEqual(['tiny', 'small', 'base']);
    expect(points.teachers).toEqual([{ id: 'teacher', trials: ['tiny', 'small', 'base'], metrics: { accuracy: 0.9, params: 2e7, latency_p50_ms: 40 } }]);
    expect(points.skipped).toEqual([
      { id: 'broken', reason: 'failed' },
      { id: 'other', reason: 'no student.params in its metrics' },
    ]);
    const frontier = sweepFrontier(points.students);
    expect(frontier.params.map((s) => s.id)).toEqual(['tiny', 'small']);
    expect(frontier.latency_p50_ms.map((s) => s.id)).toEqual(['small']);
    expect(frontier.size_bytes).toEqual([]);
  });
});

describe('exp report', () => {
  it('draws the trials of a sweep with their frontier into an HTML page and SVGs; --json lists the frontier', async () => {
    const p = distillProject({ tradeoff: true });
    const none = await p.kd(['exp', 'report']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/exp report: no experiments yet/);

    const run = await p.kd(['exp', 'run', '-S', 'student.temperature=2,4', '-S', 'student.alpha=0.3,0.7', '--name', 'grid', '--jobs', '2']);
    expect(run.code, run.stderr).toBe(0);
    const report = await p.kd(['exp', 'report', '--json']);
    expect(report.code, report.stderr).toBe(0);
    const json = report.json;
    expect(json.out).toBe(p.path('artifacts/sweep-report'));
    // grid.<n>: (temperature, alpha) = (2, .3) (2, .7) (4, .3) (4, .7); params 1000 × t, latency 10 × alpha.
    expect(json.students.map((s: any) => s.id)).toEqual(['grid.1', 'grid.2', 'grid.3', 'grid.4']);
    expect(json.students[1]).toEqual({ id: 'grid.2', sweep: 'grid', params: { 'student.temperature': 2, 'student.alpha': 0.7 }, metrics: { accuracy: expect.closeTo(0.8, 10), params: 2000, latency_p50_ms: 7 } });
    expect(json.teachers).toEqual([{ id: 'teacher', trials: ['grid.1', 'grid.2', 'grid.3', 'grid.4'], metrics: { accuracy: 0.97, params: 1e6, latency_p50_ms: 40 } }]);
    expect(json.frontier.params.map((s: any) => s.id)).toEqual(['grid.2', 'grid.4']);
    expect(json.frontier.latency_p50_ms.map((s: any) => s.id)).toEqual(['grid.3', 'grid.4']);
    expect(json.skipped).toEqual([]);
    expect(report.stderr).toMatch(/frontier by parameters grid\.2 → grid\.4; open artifacts\/sweep-report\/index\.html/);

    const dir = p.path('artifacts/sweep-report');
    const html = readFileSync(path.join(dir, 'index.html'), 'utf8');
    for (const id of ['tradeoff-params', 'tradeoff-latency']) {
      const svg = readFileSync(path.join(dir, `${id}.svg`), 'utf8');
      expect(html).toContain(`data-chart="${id}"`);
      // Four students and the teacher, two of the students on the frontier.
      expect(svg.match(/<title>grid\.\d /g)).toHaveLength(4);
      expect(svg).toContain('<title>teacher: 97.0');
      expect(svg).toMatch(/<polyline data-frontier="2"/);
    }
    // No trial has a size on disk: that chart is left out.
    expect(p.exists('artifacts/sweep-report/tradeoff-size.svg')).toBe(false);
    expect(html).toContain('Frontier by parameters: grid.2 (80.0\u00a0%) → grid.4 (100.0\u00a0%).');
    expect(html).toMatch(/<th scope="row">grid\.4<\/th><td>4<\/td><td>0\.7<\/td><td>100\.0\u00a0%<\/td><td>4,000<\/td><td>—<\/td><td>7\.00\u00a0ms<\/td><td>parameters, latency<\/td>/);
    expect(JSON.parse(readFileSync(path.join(dir, 'frontier.json'), 'utf8')).frontier.params.map((s: any) => s.id)).toEqual(['grid.2', 'grid.4']);

    // One sweep, another folder; a folder with other files in it is refused, nothing written.
    const other = await p.kd(['exp', 'report', 'grid', '--out', 'out/report']);
    expect(other.code, other.stderr).toBe(0);
    expect(p.exists('out/report/index.html')).toBe(true);
    p.write('notes/keep.txt', 'mine');
    const refused = await p.kd(['exp', 'report', '--out', 'notes']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/exp report: .*notes holds other files \(no frontier\.json, so not a sweep report\)/);
    expect(p.read('notes/keep.txt')).toBe('mine');
    expect((await p.kd(['exp', 'report', 'nope'])).stderr).toMatch(/exp report: no sweep named 'nope'/);
  });
});
