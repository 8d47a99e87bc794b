import { z } from 'zod';
import { KdError } from '../errors.js';
import { metricsFileQualifier, type MetricsByFile } from '../pipeline/metrics-values.js';

export interface DiffRow {
  path: string;
  key: string;
  old: number | null;
  new: number | null;
  change: number | null;
}

/** A `--fail-on` expression: fail when new − old is below (`<`) or above (`>`) `delta`. */
export interface Gate {
  expression: string;
  key: string;
  op: '<' | '>';
  delta: number;
}

export interface GateFailure extends Gate {
  path: string;
  old: number;
  new: number;
  change: number;
}

/**
 * new − old to 12 significant digits: 0.85 − 0.86 is −0.010000000000000009 in binary floating
 * point, and a gate `<-0.01` must not fail on that noise.
 */
function change(old: number, now: number): number {
  return Number((now - old).toPrecision(12));
}

/** Every metric of either side, sorted by file and key; unchanged ones only with `all`. */
export function diffRows(baseline: MetricsByFile, now: MetricsByFile, all: boolean): DiffRow[] {
  const rows: DiffRow[] = [];
  for (const file of [...new Set([...Object.keys(baseline), ...Object.keys(now)])].sort()) {
    const a = baseline[file] ?? {};
    const b = now[file] ?? {};
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      const old = a[key] ?? null;
      const value = b[key] ?? null;
      if (!all && old === value) continue;
      rows.push({ path: file, key, old, new: value, change: old !== null && value !== null ? change(old, value) : null });
    }
  }
  return rows;
}

const NUMBER = String.raw`[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?`;
// A key may hold spaces (it is a JSON key path), but not < or >.
const GATE = new RegExp(String.raw`^\s*([^<>]*[^<>\s])\s*([<>])\s*(${NUMBER})\s*$`);

const gateSchema = z.string().transform((expression, ctx): Gate => {
  const match = GATE.exec(expression);
  if (!match) {
    ctx.addIssue({ code: 'custom', message: 'expected KEY<DELTA or KEY>DELTA, e.g. "student.accuracy<-0.01" (fails when new − old is below −0.01)' });
    return z.NEVER;
  }
  return { expression, key: match[1]!, op: match[2] as Gate['op'], delta: Number(match[3]) };
});

/** Parses each `--fail-on` value, or throws one KdError naming the value at fault. */
export function parseGates(values: readonly string[]): Gate[] {
  return values.map((value) => {
    const result = gateSchema.safeParse(value);
    if (!result.success) throw new KdError(`metrics diff: --fail-on ${JSON.stringify(value)}: ${result.error.issues[0]!.message}`);
    return result.data;
  });
}

/**
 * The files holding `key`: as it is (`student.accuracy`), qualified by its file's path
 * (`artifacts/metrics/teacher.json/val_accuracy`) or by its file's name as `exp show` and MLflow
 * write it (`teacher/val_accuracy`).
 */
function locate(key: string, byFile: MetricsByFile): { path: string; key: string; value: number }[] {
  const found: { path: string; key: string; value: number }[] = [];
  for (const [file, values] of Object.entries(byFile)) {
    const prefix = [file, metricsFileQualifier(file)].find((p) => p && key.startsWith(`${p}/`));
    const inner = prefix ? key.slice(prefix.length + 1) : key;
    if (Object.hasOwn(values, inner)) found.push({ path: file, key: inner, value: values[inner]! });
  }
  return found;
}

/**
 * The gates whose metric moved past their delta. A key missing on either side, or found in
 * several files, is an error naming it: a gate that cannot be checked must not pass.
 */
export function checkGates(gates: readonly Gate[], baseline: { label: string; metrics: MetricsByFile }, now: MetricsByFile): GateFailure[] {
  const failures: GateFailure[] = [];
  for (const gate of gates) {
    const fail = (reason: string) => new KdError(`metrics diff: --fail-on ${JSON.stringify(gate.expression)}: ${reason}`);
    const before = locate(gate.key, baseline.metrics);
    const after = locate(gate.key, now);
    const files = [...new Set([...before, ...after].map((hit) => hit.path))].sort();
    if (files.length > 1) throw fail(`${gate.key} is in several metrics files (${files.join(', ')}); name one as <file>/${gate.key}`);
    if (before.length === 0 && after.length === 0) throw fail(`${gate.key} is in neither the workspace metrics nor the baseline (${baseline.label}); \`kd-pipeline metrics show\` lists the keys`);
    if (before.length === 0) throw fail(`${gate.key} is missing from the baseline (${baseline.label}), so there is nothing to compare with`);
    if (after.length === 0) throw fail(`${gate.key} is missing from the workspace metrics (${files[0]})`);
    const old = before[0]!.value;
    const value = after[0]!.value;
    const moved = change(old, value);
    if (gate.op === '<' ? moved < gate.delta : moved > gate.delta) failures.push({ ...gate, path: files[0]!, old, new: value, change: moved });
  }
  return failures;
}

/** A metric as the text output prints it: six significant digits (--json has the exact values). */
export function formatValue(value: number | null): string {
  return value === null ? '—' : String(Number(value.toPrecision(6)));
}

/** One line per failed gate, e.g. `student.accuracy: 0.87 → 0.85, change -0.02 is below -0.01 (--fail-on "student.accuracy<-0.01")`. */
export function describeFailure(failure: GateFailure): string {
  const side = failure.op === '<' ? 'below' : 'above';
  return `${failure.key}: ${formatValue(failure.old)} → ${formatValue(failure.new)}, change ${formatValue(failure.change)} is ${side} ${failure.delta} (--fail-on ${JSON.stringify(failure.expression)})`;
}
