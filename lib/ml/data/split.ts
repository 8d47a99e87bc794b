import { KdError } from '../../errors.js';
import { seededRandom, shuffle } from '../../seeded-random.js';

export interface Split<T> {
  train: T[];
  val: T[];
  test: T[];
}

/** Items by class, classes in sorted order: what makes a draw depend only on the rows and the seed. */
function byClass<T>(items: readonly T[], classOf: (item: T) => string): [string, T[]][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = classOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Stratified split: each class is shuffled with the seed and cut by the fractions, so every split
 * keeps the class proportions. Classes are visited in sorted order, which makes the result depend
 * only on the rows and the seed.
 */
export function stratifiedSplit<T>(items: readonly T[], classOf: (item: T) => string, fractions: { val: number; test: number }, seed: number): Split<T> {
  if (fractions.val + fractions.test >= 1) throw new RangeError('val + test fractions must leave a training set');
  const random = seededRandom(seed);
  const out: Split<T> = { train: [], val: [], test: [] };
  for (const [, rows] of byClass(items, classOf)) {
    const members = shuffle(rows, random);
    const nTest = Math.round(members.length * fractions.test);
    const nVal = Math.round(members.length * fractions.val);
    out.test.push(...members.slice(0, nTest));
    out.val.push(...members.slice(nTest, nTest + nVal));
    out.train.push(...members.slice(nTest + nVal));
  }
  // Interleave the classes so that a split file is not sorted by label.
  return { train: shuffle(out.train, random), val: shuffle(out.val, random), test: shuffle(out.test, random) };
}

/**
 * Stratified share of `items` that keeps its labels (data.label_fraction): per class, `fraction`
 * of its rows (rounded) drawn with the seed; the rest is returned as unlabelled. A class left with
 * fewer than 2 labelled rows is refused, naming it.
 */
export function labelledShare<T>(items: readonly T[], classOf: (item: T) => string, fraction: number, seed: number): { labelled: T[]; unlabelled: T[] } {
  if (fraction >= 1) return { labelled: [...items], unlabelled: [] };
  const random = seededRandom(seed);
  const labelled: T[] = [];
  const unlabelled: T[] = [];
  for (const [key, rows] of byClass(items, classOf)) {
    const members = shuffle(rows, random);
    const keep = Math.round(members.length * fraction);
    if (keep < 2) {
      throw new KdError(`params.yaml: data.label_fraction: ${fraction} leaves class "${key}" ${keep} labelled training sentence${keep === 1 ? '' : 's'} of ${members.length} (at least 2 needed): raise it`);
    }
    labelled.push(...members.slice(0, keep));
    unlabelled.push(...members.slice(keep));
  }
  return { labelled: shuffle(labelled, random), unlabelled: shuffle(unlabelled, random) };
}
