import { KdError } from '../../errors.js';
import { seededRandom, shuffle } from '../../seeded-random.js';
import { parseAddPrefix } from '../params-set.js';
import { loadYaml } from '../yaml-memo.js';

/** One `-S key=values` flag: the key and the values the sweep gives it, in order. */
export interface SweepAxis {
  key: string;
  /** `-S +key=…`: the key may be new in params.yaml (under a mapping that exists). */
  add: boolean;
  values: unknown[];
  /** The flag as typed, for tracking and messages. */
  spec: string;
}

/** `-S #2 (student.alpha=…)`: the flag and its position, for every message about it. */
const flagName = (position: number, text: string) => `-S #${position} (${text})`;

/** An item and the 1-based character position of its first non-blank character in the flag. */
const located = (item: string, offset: number) => ({ item, at: offset + 1 + (item.length - item.trimStart().length) });

/** Splits on commas outside brackets, parentheses and quotes; reports an unbalanced one by its character position. */
function splitTopLevel(text: string, where: string, offset: number): { item: string; at: number }[] {
  const items: { item: string; at: number }[] = [];
  const closing: string[] = [];
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{' || c === '(') closing.push(c === '[' ? ']' : c === '{' ? '}' : ')');
    else if (c === ']' || c === '}' || c === ')') {
      if (closing.pop() !== c) throw new KdError(`${where}: unexpected '${c}' at character ${offset + i + 1}`);
    } else if (c === ',' && closing.length === 0) {
      items.push(located(text.slice(start, i), offset + start));
      start = i + 1;
    }
  }
  if (quote || closing.length > 0) throw new KdError(`${where}: unclosed ${quote ?? `'${closing.at(-1) === ']' ? '[' : closing.at(-1) === '}' ? '{' : '('}'`} (expected ${quote ?? closing.at(-1)} before the end)`);
  items.push(located(text.slice(start), offset + start));
  return items;
}

function parseValue(item: string, at: number, where: string): unknown {
  if (item.trim() === '') throw new KdError(`${where}: empty value at character ${at}`);
  if (/^[A-Za-z_][\w.-]*=/.test(item.trim())) throw new KdError(`${where}: '${item.trim()}' at character ${at} looks like another key=value; give each key its own -S`);
  try {
    return loadYaml().parse(item.trim());
  } catch (error) {
    throw new KdError(`${where}: value '${item.trim()}' at character ${at} is not valid YAML (${(error as Error).message.split('\n')[0]})`);
  }
}

/** DVC/Hydra's `range(start, stop[, step])`: stop excluded; floats allowed (rounded to 12 digits). */
function rangeValues(args: { item: string; at: number }[], where: string): number[] {
  if (args.length < 2 || args.length > 3) throw new KdError(`${where}: range() takes (start, stop) or (start, stop, step)`);
  const [start, stop, step = 1] = args.map(({ item, at }) => {
    const value = Number(item.trim());
    if (item.trim() === '' || !Number.isFinite(value)) throw new KdError(`${where}: range() expects numbers, got '${item.trim()}' at character ${at}`);
    return value;
  }) as [number, number, number?];
  if (step === 0 || Math.sign(stop - start) !== Math.sign(step)) throw new KdError(`${where}: range(${start}, ${stop}, ${step}) is empty`);
  const values: number[] = [];
  for (let i = 0; (step > 0 ? start + i * step < stop : start + i * step > stop) && i < 10_000; i++) values.push(Number((start + i * step).toPrecision(12)));
  return values;
}

/**
 * Parses the `-S` flags of `exp run` (DVC's sweep syntax): `key=a,b,c`, `key=range(start, stop,
 * step)` and `key=choice(a, b, …)`; values are read as YAML. A single value sets the key in every trial.
 */
export function parseSweepFlags(flags: string[]): SweepAxis[] {
  const axes: SweepAxis[] = [];
  flags.forEach((text, index) => {
    const where = flagName(index + 1, text);
    const eq = text.indexOf('=');
    const { key, add } = parseAddPrefix(eq > 0 ? text.slice(0, eq).trim() : '');
    if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(key)) throw new KdError(`${where}: expected key=value[,value…], e.g. -S student.temperature=2,4 or -S student.alpha=range(0.1,1,0.2)`);
    if (axes.some((a) => a.key === key)) throw new KdError(`${where}: '${key}' is swept by an earlier -S flag`);
    const spec = text.slice(eq + 1);
    const fn = /^\s*(range|choice)\((.*)\)\s*$/s.exec(spec);
    const inner = fn ? (fn[2] as string) : spec;
    const offset = eq + 1 + (fn ? spec.indexOf('(') + 1 : 0);
    const items = splitTopLevel(inner, where, offset);
    const values = fn?.[1] === 'range' ? rangeValues(items, where) : items.map(({ item, at }) => parseValue(item, at, where));
    axes.push({ key, add, values, spec: text });
  });
  return axes;
}

/** Every combination of the axes' values (the first axis varies slowest), as dotted key → value. */
export function grid(axes: SweepAxis[]): Record<string, unknown>[] {
  let combos: Record<string, unknown>[] = [{}];
  for (const axis of axes) combos = combos.flatMap((combo) => axis.values.map((value) => ({ ...combo, [axis.key]: value })));
  return combos;
}

/** `count` distinct combinations drawn at random, the same for the same seed (all of them, shuffled, when the grid is smaller). */
export function randomDraws<T>(combos: T[], count: number, seed: number): T[] {
  return shuffle(combos, seededRandom(seed)).slice(0, count);
}
