// Prepares what the tests need beyond node_modules, idempotently and quickly when already done:
// a Python venv under .venv/ with a pinned MLflow (the tracking tests run a real server) and a
// pinned moto (its standalone S3 server is what the remote-cache tests push to and pull from) and
// Hugging Face tokenizers (the student's exported tokenizer.json must give its ids in Python too),
// onnx and onnxruntime (the exported ONNX student is checked and run in Python),
// Debian's chromium for the browser tests (never a browser download) and redis-server for the
// queued-sweep tests, and the teacher's default
// encoder in models/encoder (the transformer-teacher tests use the real one), fetched as
// `npm run setup` fetches it.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MLFLOW_VERSION = '3.17.2';
export const MOTO_VERSION = '5.2.5';
// The student's exported tokenizer.json is checked against Hugging Face's own Rust tokenizer (as bench:encoder pins it).
export const TOKENIZERS_VERSION = '0.23.3';
// The ONNX export is checked with onnx.checker and run with Python's onnxruntime, as a Python user would.
export const ONNX_VERSION = '1.23.2';
export const ONNXRUNTIME_VERSION = '1.31.1';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const venv = join(root, '.venv');

function run(cmd, args) {
  console.error(`test-env: ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], cwd: root });
}

function installed(pkg, command = 'python') {
  const bin = join(venv, 'bin', 'python');
  if (!existsSync(join(venv, 'bin', command))) return null;
  try {
    return execFileSync(bin, ['-c', `import importlib.metadata as m; print(m.version("${pkg}"))`], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

const wanted = [];
if (installed('mlflow', 'mlflow') !== MLFLOW_VERSION) wanted.push(`mlflow==${MLFLOW_VERSION}`);
if (installed('moto', 'moto_server') !== MOTO_VERSION) wanted.push(`moto[server]==${MOTO_VERSION}`);
if (installed('tokenizers') !== TOKENIZERS_VERSION) wanted.push(`tokenizers==${TOKENIZERS_VERSION}`);
if (installed('onnx') !== ONNX_VERSION) wanted.push(`onnx==${ONNX_VERSION}`);
if (installed('onnxruntime') !== ONNXRUNTIME_VERSION) wanted.push(`onnxruntime==${ONNXRUNTIME_VERSION}`);
if (wanted.length > 0) {
  if (!existsSync(join(venv, 'bin', 'python'))) run('python3', ['-m', 'venv', venv]);
  run(join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', ...wanted]);
}

// Debian's packages the tests drive: chromium (browser tests) and redis-server (queued sweeps; the
// tests start their own on a free port, never the system service).
const debs = [
  ['chromium', '/usr/bin/chromium', 'the browser tests'],
  ['redis-server', '/usr/bin/redis-server', 'the queued-sweep tests'],
].filter(([, bin]) => !existsSync(bin));
if (debs.length > 0) {
  if (process.getuid?.() === 0) {
    run('apt-get', ['update']);
    run('apt-get', ['install', '-y', '--no-install-recommends', ...debs.map(([pkg]) => pkg)]);
  } else {
    for (const [pkg, bin, what] of debs) console.error(`test-env: ${bin} is missing and we are not root: install Debian's ${pkg} package; ${what} will fail`);
  }
}

if (!existsSync(join(root, 'models', 'encoder', 'encoder.json'))) {
  run('npm', ['run', 'build', '--silent']);
  run(process.execPath, [join(root, 'bin', 'kd-pipeline.js'), 'run', 'encoder']);
}
