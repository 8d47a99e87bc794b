#!/usr/bin/env node
// node bench/gen-unlabeled.mjs N OUT.txt — N distinct unlabelled sentences, one a line, for the
// memory and resume measurements of docs/label-scarce.md: the first half of one sentence of the
// embedded data set joined to the second half of another (deterministic; an in-domain stand-in for
// a team's unlabelled reviews).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';

const [count, out] = [Number(process.argv[2]), process.argv[3]];
if (!Number.isInteger(count) || count < 1 || !out) {
  process.stderr.write('usage: node bench/gen-unlabeled.mjs N OUT.txt\n');
  process.exit(1);
}
const REPO = path.resolve(import.meta.dirname, '..');
const texts = parse(readFileSync(path.join(REPO, 'data/sentiment-labelled-sentences.csv')), { columns: true }).map((row) => row.text.trim().split(/\s+/));
const sentences = new Set();
for (let k = 0; sentences.size < count; k++) {
  const a = texts[k % texts.length];
  const b = texts[(k * 7919 + Math.floor(k / texts.length)) % texts.length];
  sentences.add([...a.slice(0, Math.ceil(a.length / 2)), ...b.slice(Math.floor(b.length / 2))].join(' '));
  if (k > count * 20) throw new Error(`only ${sentences.size} distinct sentences`);
}
writeFileSync(out, `${[...sentences].join('\n')}\n`);
process.stderr.write(`${sentences.size} sentences → ${out}\n`);
