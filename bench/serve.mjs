#!/usr/bin/env node
// npm run bench:serve [-- --seconds 10 --requests 40000 --export artifacts/export --teacher artifacts/teacher]
//
// Load-tests `kd-pipeline serve` on 127.0.0.1 with autocannon: single-text POST /predict at
// concurrency 1, 16 and 64, each run bounded in time and in requests, serving the exported
// student and then the teacher (the same vocab, labels and preprocessing, the teacher's
// weights), and prints requests/s and p50/p99 latency. The server runs in its own process, so
// the load generator does not share its event loop. Needs `npm run build` and a pipeline run.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    requests: { type: 'string', default: '40000' },
    export: { type: 'string', default: 'artifacts/export' },
    teacher: { type: 'string', default: 'artifacts/teacher' },
    out: { type: 'string', default: 'artifacts/bench/serve.json' },
  },
});
const SECONDS = Number(args.seconds);
const MAX_REQUESTS = Number(args.requests);
const CONCURRENCY = [1, 16, 64];
const SENTENCES = [
  'I love this movie, the acting is great',
  'The battery died after two days. Terrible.',
  'Not bad at all, would buy again',
  'Der Film war wirklich schön und spannend',
  'Service was slow and the food was cold',
  'Une expérience formidable, je recommande',
  'Worst phone I have ever owned',
  'Perfect fit and it works as described',
];

function fail(message) {
  process.stderr.write(`bench:serve: ${message}\n`);
  process.exit(1);
}

/** The teacher's model.json: the teacher dir itself, or its first ensemble member. */
function teacherModelDir(dir) {
  if (existsSync(path.join(dir, 'model.json'))) return dir;
  const member = readdirSync(dir, { withFileTypes: true }).find((e) => e.isDirectory() && existsSync(path.join(dir, e.name, 'model.json')));
  if (!member) fail(`${dir} holds no model.json (nor a member folder with one)`);
  return path.join(dir, member.name);
}

/** An export like the student's, with the teacher's layers model in place of the student's. */
function teacherExport(studentExport, teacherDir, into) {
  for (const name of ['vocab.json', 'labels.json', 'preprocessing.json']) cpSync(path.join(studentExport, name), path.join(into, name));
  const modelDir = teacherModelDir(teacherDir);
  const modelJson = JSON.parse(readFileSync(path.join(modelDir, 'model.json'), 'utf8'));
  cpSync(path.join(modelDir, 'model.json'), path.join(into, 'model.json'));
  for (const group of modelJson.weightsManifest) for (const file of group.paths) cpSync(path.join(modelDir, file), path.join(into, file));
  const metadata = JSON.parse(readFileSync(path.join(studentExport, 'metadata.json'), 'utf8'));
  writeFileSync(path.join(into, 'metadata.json'), JSON.stringify({ ...metadata, name: 'kd-teacher', fingerprint: `teacher-of-${metadata.fingerprint}` }));
  return into;
}

/** Starts `kd-pipeline serve --json` on a free port; resolves with its URL and process. */
function startServer(modelDir) {
  const child = spawn(process.execPath, ['bin/kd-pipeline.js', 'serve', '--model', modelDir, '--port', '0', '--no-watch', '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.includes('\n')) resolve({ url: JSON.parse(stdout).url, child });
    });
    child.on('exit', (code) => reject(new Error(`kd-pipeline serve exited with ${code}:\n${stderr}`)));
  });
}

function stopServer(child) {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
}

function load(url, connections, seconds, maxRequests) {
  return autocannon({
    url: `${url}/predict`,
    connections,
    duration: seconds,
    maxOverallRequests: maxRequests,
    timeout: 30, // seconds; the teacher at concurrency 64 keeps requests queued for several seconds
    requests: SENTENCES.map((text) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) })),
  });
}

/** Texts and model calls so far, from the server's own batch-size histogram. */
async function batchCounters(url) {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  return {
    texts: Number(/kd_serve_batch_size_sum (\S+)/.exec(metrics)?.[1]),
    calls: Number(/kd_serve_batch_size_count (\S+)/.exec(metrics)?.[1]),
  };
}

async function benchModel(label, modelDir) {
  const { url, child } = await startServer(modelDir);
  const rows = [];
  try {
    await load(url, 16, 1, 2000); // warm-up: JIT, tfjs kernels
    for (const connections of CONCURRENCY) {
      const before = await batchCounters(url);
      const result = await load(url, connections, SECONDS, MAX_REQUESTS);
      const after = await batchCounters(url);
      const row = {
        model: label,
        concurrency: connections,
        requests: result.requests.total,
        seconds: Number((result.duration).toFixed(2)),
        requests_per_s: Math.round(result.requests.total / result.duration),
        p50_ms: result.latency.p50,
        p99_ms: result.latency.p99,
        non_2xx: result.non2xx,
        errors: result.errors + result.timeouts,
        texts_per_model_call: Number(((after.texts - before.texts) / (after.calls - before.calls)).toFixed(1)),
      };
      rows.push(row);
      process.stderr.write(`${label} c=${connections}: ${row.requests_per_s} req/s, p50 ${row.p50_ms} ms, p99 ${row.p99_ms} ms (${row.requests} requests, ${row.non_2xx} non-2xx, ${row.errors} errors, ${row.texts_per_model_call} texts per model call)\n`);
    }
  } finally {
    await stopServer(child);
  }
  return rows;
}

if (!existsSync('dist/lib/cli/main.js')) fail('dist/ is missing: run `npm run build` first');
if (!existsSync(path.join(args.export, 'model.json'))) fail(`${args.export}/model.json is missing: run \`npx kd-pipeline run\` first (or pass --export)`);
if (!existsSync(args.teacher)) fail(`${args.teacher} is missing: run \`npx kd-pipeline run\` first (or pass --teacher)`);

const work = mkdtempSync(path.join(tmpdir(), 'kd-bench-serve-'));
try {
  const student = await benchModel('student', args.export);
  const teacher = await benchModel('teacher', teacherExport(args.export, args.teacher, work));
  const at64 = (rows) => rows.find((r) => r.concurrency === 64);
  const s64 = at64(student);
  const t64 = at64(teacher);
  const summary = {
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
    bounds: { seconds: SECONDS, max_requests: MAX_REQUESTS },
    rows: [...student, ...teacher],
    goals: {
      student_rps_at_64_ge_2000: s64.requests_per_s >= 2000,
      student_p99_at_64_le_25ms: s64.p99_ms <= 25,
      student_over_teacher_at_64: Number((s64.requests_per_s / t64.requests_per_s).toFixed(1)),
    },
  };
  mkdirSync(path.dirname(args.out), { recursive: true });
  writeFileSync(args.out, `${JSON.stringify(summary, null, 2)}\n`);
  console.log('| model | concurrency | requests/s | p50 ms | p99 ms | requests | non-2xx | errors | texts/model call |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of summary.rows) {
    console.log(`| ${r.model} | ${r.concurrency} | ${r.requests_per_s} | ${r.p50_ms} | ${r.p99_ms} | ${r.requests} | ${r.non_2xx} | ${r.errors} | ${r.texts_per_model_call} |`);
  }
  console.log(`\nstudent/teacher throughput at concurrency 64: ${summary.goals.student_over_teacher_at_64}×; results in ${args.out}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
