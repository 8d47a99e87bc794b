#!/usr/bin/env node
// Writes `dir` with a fixed mix of file sizes (random bytes, reproducible from the seed): the data
// of `npm run bench:remote`. Usage: node gen-mixed.mjs DIR TOTAL_MB [SEED]
import { createCipheriv, createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const [dir, totalArg = '1024', seedArg = '1'] = process.argv.slice(2);
const MB = 1024 * 1024;
const total = Number(totalArg) * MB;
// A quarter of the bytes each in 64 MiB, 8 MiB, 512 KiB and 64 KiB files (4 + 32 + 512 + 4096 files for 1 GiB).
const classes = [64 * MB, 8 * MB, 512 * 1024, 64 * 1024];

/** Pseudo-random bytes (AES-CTR over zeros, keyed by the seed): reproducible and fast. */
function fill(buffer, seed) {
  const key = createHash('md5').update(seed).digest();
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  cipher.update(Buffer.alloc(buffer.length)).copy(buffer);
}

let written = 0;
for (const size of classes) {
  const count = Math.max(1, Math.round(total / 4 / size));
  const sub = path.join(dir, `${size >= MB ? `${size / MB}M` : `${size / 1024}K`}`);
  mkdirSync(sub, { recursive: true });
  const buffer = Buffer.alloc(size);
  for (let i = 0; i < count; i += 1) {
    fill(buffer, `${seedArg}:${size}:${i}`);
    writeFileSync(path.join(sub, `f${String(i).padStart(5, '0')}.bin`), buffer);
    written += size;
  }
}
console.error(`gen-mixed: ${(written / MB).toFixed(0)} MiB in ${dir}`);
