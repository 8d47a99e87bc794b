import { seededRandom, shuffle } from '../../seeded-random.js';

export interface Split<T> {
  train: T[];
  val: T[];
  test: T[];
}

/**
 * Stratified split: each class is shuffled with the seed and cut by the fractions, so every split
 * keeps the class proportions. Classes are visited in sorted order, which makes the result depend
 * only on the rows and the seed.
 */
export function stratifiedSplit<T>(items: readonly T[], classOf: (item: T) => string, fractions: { val: number; test: number }, seed: number): Split<T> {
  if (fractions.val + fractions.test >= 1) throw new RangeError('val + test fractions must leave a training set');
  const byClass = new Map<string, T[]>();
  for (const item of items) {
    const key = classOf(item);
    byClass.set(key, [...(byClass.get(key) ?? []), item]);
  }
  const random = seededRandom(seed);
  const out: Split<T> = { train: [], val: [], test: [] };
  for (const key of [...byClass.keys()].sort()) {
    const members = shuffle(byClass.get(key)!, random);
    const nTest = Math.round(members.length * fractions.test);
    const nVal = Math.round(members.length * fractions.val);
    out.test.push(...members.slice(0, nTest));
    out.val.push(...members.slice(nTest, nTest + nVal));
    out.train.push(...members.slice(nTest + nVal));
  }
  // Interleave the classes so that a split file is not sorted by label.
  return { train: shuffle(out.train, random), val: shuffle(out.val, random), test: shuffle(out.test, random) };
}
