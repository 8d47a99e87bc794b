import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { formatZodError } from '../../validation.js';

/**
 * Training histories as the training stages write them to artifacts/plots/<model>-history.json
 * (pipeline.yaml's `plots`): a JSON array of rows, each with an `epoch` (or `step`) and numbers
 * such as loss, accuracy, val_loss, val_accuracy, learning_rate; an ensemble has
 * member_<i>_<key> columns. Read generically: any such file and any such column becomes a curve.
 */
export interface HistoryCurve {
  /** Legend text: "training", "validation", "member 2 validation", … */
  label: string;
  member: number | null;
  validation: boolean;
  points: [number, number][];
}

export interface HistoryPanel {
  /** loss, accuracy, then any other metric (learning_rate, …) in name order. */
  metric: string;
  curves: HistoryCurve[];
}

export interface ModelHistory {
  /** From the file name: teacher-history.json → teacher. */
  model: string;
  file: string;
  /** epoch or step. */
  xKey: string;
  panels: HistoryPanel[];
}

const rowsSchema = z
  .array(z.record(z.string(), z.number()))
  .min(1)
  .refine((rows) => rows.every((row) => 'epoch' in row) || rows.every((row) => 'step' in row), { message: 'every row needs an "epoch" or a "step"' });

const COLUMN = /^(?:member_(\d+)_)?(val_)?(.+)$/;
const canonical = (metric: string) => (metric === 'acc' ? 'accuracy' : metric);
const panelRank = (metric: string) => (metric === 'loss' ? 0 : metric === 'accuracy' ? 1 : 2);

function curveLabel(member: number | null, validation: boolean): string {
  const split = validation ? 'validation' : 'training';
  return member === null ? split : `member ${member + 1} ${split}`;
}

/** One history file's rows → panels of curves (rows missing a column, e.g. after an early stop, are skipped). */
export function historyPanels(rows: readonly Record<string, number>[], xKey: string): HistoryPanel[] {
  const curves = new Map<string, { metric: string } & HistoryCurve>();
  for (const row of rows) {
    for (const [key, value] of Object.entries(row)) {
      if (key === xKey || !Number.isFinite(value)) continue;
      const [, member, val, metric] = COLUMN.exec(key)!;
      let curve = curves.get(key);
      if (!curve) {
        const m = member === undefined ? null : Number(member);
        curve = { metric: canonical(metric!), label: curveLabel(m, val !== undefined), member: m, validation: val !== undefined, points: [] };
        curves.set(key, curve);
      }
      curve.points.push([row[xKey]!, value]);
    }
  }
  const panels = new Map<string, HistoryCurve[]>();
  for (const { metric, ...curve } of curves.values()) panels.set(metric, [...(panels.get(metric) ?? []), curve]);
  for (const [metric, list] of panels) {
    list.sort((a, b) => (a.member ?? -1) - (b.member ?? -1) || Number(a.validation) - Number(b.validation));
    // A metric with no validation counterpart (the learning rate) is not "training" either.
    if (!list.some((curve) => curve.validation)) for (const curve of list) curve.label = curve.member === null ? metric.replace(/_/g, ' ') : `member ${curve.member + 1}`;
  }
  return [...panels]
    .sort(([a], [b]) => panelRank(a) - panelRank(b) || a.localeCompare(b))
    .map(([metric, list]) => ({ metric, curves: list }));
}

/**
 * Every history file in `dir` (project-relative names in messages), models in `order` first. A
 * file that is not a history (not JSON, no epoch column) is skipped with a warning: a stray plot
 * must not cost the user their evaluation.
 */
export function readHistories(root: string, dir: string, order: readonly string[], warn: (message: string) => void): ModelHistory[] {
  const full = path.join(root, dir);
  if (!existsSync(full)) return [];
  const histories: ModelHistory[] = [];
  for (const name of readdirSync(full).filter((n) => n.endsWith('.json')).sort()) {
    const file = path.posix.join(dir, name);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path.join(full, name), 'utf8'));
    } catch (error) {
      warn(`${file}: not valid JSON, left out of the report (${(error as Error).message})`);
      continue;
    }
    const parsed = rowsSchema.safeParse(raw);
    if (!parsed.success) {
      warn(`${formatZodError(parsed.error, file).split('\n')[0]} (not a training history, left out of the report)`);
      continue;
    }
    const rows = parsed.data;
    const xKey = 'epoch' in rows[0]! ? 'epoch' : 'step';
    histories.push({ model: name.replace(/(-history)?\.json$/, ''), file, xKey, panels: historyPanels(rows, xKey) });
  }
  const rank = (model: string) => (order.includes(model) ? order.indexOf(model) : order.length);
  return histories.sort((a, b) => rank(a.model) - rank(b.model) || a.model.localeCompare(b.model));
}
