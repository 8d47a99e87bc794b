import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Project } from '../pipeline/harness.js';

/** What a git clone of a project has: its sources, the committed lock and remote config, no .kd/ and no outs. */
export const COMMITTED = ['pipeline.yaml', 'params.yaml', 'in.txt', 'pipeline.lock', '.kdconfig.yaml'];

/**
 * A project whose stages write a directory of `files` files (one of them `bigKb` KB), a file, an
 * executable and an uncached metrics file; every command appends its stage name to ran.log, so a
 * test can tell a stage that ran from one restored.
 */
export function producer(files = 3, bigKb = 256): Project {
  return new Project({
    'params.yaml': `n: ${files}\nbig_kb: ${bigKb}\nscale: 1\n`,
    'in.txt': 'hello remote\n',
    'pipeline.yaml': `stages:
  prepare:
    cmd: echo prepare >> ran.log && mkdir -p data/sub && for i in $(seq 1 \${n}); do echo "row $i $(cat in.txt)" > data/part-$i.txt; done && head -c \${big_kb}000 /dev/zero | tr '\\0' 'x' > data/sub/big.bin
    deps: [in.txt]
    params: [n, big_kb]
    outs: [data]
  train:
    cmd: echo train >> ran.log && cat data/part-* | sort > model.txt && echo scale=\${scale} >> model.txt && printf '#!/bin/sh\\necho hi\\n' > run.sh && chmod +x run.sh && echo '{"score":0.5}' > metrics.json
    deps: [data]
    params: [scale]
    outs: [model.txt, run.sh]
    metrics: [metrics.json]
`,
  });
}

/** A fresh clone of `source`: only its committed files. */
export function cloneOf(source: Project): Project {
  const clone = new Project();
  for (const file of COMMITTED) if (source.exists(file)) clone.write(file, source.read(file));
  clone.env = { ...source.env };
  return clone;
}

/** Every object file in a project's local cache, relative to .kd/cache. */
export function cacheObjects(p: Project): string[] {
  const root = p.path('.kd/cache');
  try {
    return readdirSync(root).flatMap((shard) => readdirSync(path.join(root, shard)).map((name) => `${shard}/${name}`));
  } catch {
    return [];
  }
}

/** Objects of the local cache whose content does not hash to their name (there must never be any). */
export function corruptObjects(p: Project): string[] {
  return cacheObjects(p).filter((rel) => {
    const file = p.path(`.kd/cache/${rel}`);
    if (!statSync(file).isFile()) return true;
    const md5 = createHash('md5').update(readFileSync(file)).digest('hex');
    return md5 !== rel.replace('/', '').replace(/\.dir$/, '');
  });
}
