#!/usr/bin/env node
// npm run native — the native TensorFlow backend (@tensorflow/tfjs-node) without Google's storage.
//
// tfjs-node's own install script downloads libtensorflow 2.9.1 and a prebuilt addon from
// storage.googleapis.com. Instead this script takes TensorFlow's C library from the
// `tensorflow-cpu` wheel on PyPI (libtensorflow_cc.so.2 exports the TF_* C API and TFE_* eager C
// API the binding calls; libtensorflow_framework.so.2 is its companion; the wheel ships the C
// headers), lays them out as tfjs-node's deps/ folder, and compiles tfjs-node's N-API addon from
// its sources with node-gyp against them. See docs/native.md.
//
// Steps (each skipped when already done; --force redoes them):
//   1. .native/wheels/: `pip download --no-deps` the tensorflow-cpu wheel (or use --wheel FILE /
//      KD_TF_WHEEL=FILE on an offline machine);
//   2. .native/tensorflow-<version>/{lib,include}: the two shared libraries and the C headers,
//      extracted from the wheel;
//   3. node_modules/@tensorflow/tfjs-node: `npm install --no-save --ignore-scripts` (package.json
//      and package-lock.json stay untouched, so plain `npm install` never depends on this; a later
//      `npm install` may prune it again — rerun `npm run native`, which then only rebuilds);
//   4. its deps/lib (symlinks to step 2: libtensorflow.so → libtensorflow_cc.so.2, …) and
//      deps/include; `node-gyp rebuild` (npm's bundled node-gyp, Node's installed headers when
//      present so nothing is fetched from nodejs.org) into lib/napi-v<N>/tfjs_binding.node;
//   5. verification in a fresh process: require('@tensorflow/tfjs-node') loads,
//      tf.getBackend() === 'tensorflow', and a matMul gives the right numbers.
// Linux x86_64 only (the wheel's platform). Needs python3 with pip, a C++ compiler and make.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const TFJS_NODE_VERSION = '4.22.0'; // = the project's @tensorflow/tfjs version
const TF_VERSION = '2.15.1'; // C API newer than tfjs-node's 2.9.1 and backward compatible; see docs/native.md

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    wheel: { type: 'string', default: process.env.KD_TF_WHEEL },
    'tf-version': { type: 'string', default: TF_VERSION },
    force: { type: 'boolean', default: false },
    'verify-only': { type: 'boolean', default: false },
  },
});

const log = (msg) => console.log(`native: ${msg}`);
function fail(msg) {
  console.error(`native: ${msg}`);
  process.exit(1);
}
function run(cmd, argv, options = {}, label = [cmd, ...argv].join(' ')) {
  log(`$ ${label}`);
  const r = spawnSync(cmd, argv, { stdio: 'inherit', cwd: root, ...options });
  if (r.error) fail(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) fail(`${cmd} exited with ${r.status}`);
}

const pkgDir = path.join(root, 'node_modules/@tensorflow/tfjs-node');

if (!args['verify-only']) {
  if (os.platform() !== 'linux' || os.arch() !== 'x64') {
    fail(`only linux x64 is supported (this is ${os.platform()} ${os.arch()}): the tensorflow-cpu wheel's shared libraries are built for manylinux x86_64`);
  }
  const tfVersion = args['tf-version'];
  const python = process.env.PYTHON ?? 'python3';
  const started = Date.now();

  // 1. The wheel.
  const wheelsDir = path.join(root, '.native/wheels');
  const wheelPattern = new RegExp(`^tensorflow_cpu-${tfVersion.replaceAll('.', '\\.')}-.*manylinux.*x86_64\\.whl$`);
  const findWheel = () => (existsSync(wheelsDir) ? readdirSync(wheelsDir).find((f) => wheelPattern.test(f)) : undefined);
  let wheel = args.wheel ? path.resolve(args.wheel) : findWheel() && path.join(wheelsDir, findWheel());
  if (!args.wheel && (!wheel || args.force)) {
    mkdirSync(wheelsDir, { recursive: true });
    // The shared libraries do not depend on the Python version; pin one the wheel exists for so the
    // local interpreter's version does not matter.
    run(python, ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--python-version', '3.11', '--platform', 'manylinux2014_x86_64', '-d', wheelsDir, `tensorflow-cpu==${tfVersion}`]);
    wheel = findWheel() && path.join(wheelsDir, findWheel());
    if (!wheel) fail(`pip download did not leave a tensorflow_cpu-${tfVersion} wheel in ${wheelsDir}`);
  }
  if (!existsSync(wheel)) fail(`${wheel}: no such wheel`);
  log(`wheel ${path.relative(root, wheel)}`);

  // 2. Libraries and headers out of the wheel (a zip): only what the binding needs.
  const tfDir = path.join(root, `.native/tensorflow-${tfVersion}`);
  const libs = ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'];
  if (args.force || !libs.every((l) => existsSync(path.join(tfDir, 'lib', l))) || !existsSync(path.join(tfDir, 'include/tensorflow/c/eager/c_api.h'))) {
    rmSync(tfDir, { recursive: true, force: true });
    const extract = `
import os, shutil, sys, zipfile
wheel, out, libs = sys.argv[1], sys.argv[2], sys.argv[3].split(',')
# The C API headers include tensorflow/c/**, tensorflow/core/platform/ctstring*.h and tsl/**.
keep = ('tensorflow/include/tensorflow/c/', 'tensorflow/include/tensorflow/core/platform/', 'tensorflow/include/tsl/')
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        name = info.filename
        if name.endswith('/'):
            continue
        if name in ['tensorflow/' + l for l in libs]:
            dest = os.path.join(out, 'lib', os.path.basename(name))
        elif name.startswith(keep) and name.endswith('.h'):
            dest = os.path.join(out, 'include', name[len('tensorflow/include/'):])
        else:
            continue
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with z.open(info) as src, open(dest, 'wb') as dst:
            shutil.copyfileobj(src, dst)
for l in libs:
    path = os.path.join(out, 'lib', l)
    if not os.path.exists(path):
        sys.exit(f'{l} is not in {wheel}')
    os.chmod(path, 0o755)
`;
    log(`extracting ${libs.join(', ')} and the C headers into ${path.relative(root, tfDir)}`);
    run(python, ['-c', extract, wheel, tfDir, libs.join(',')], {}, `${python} -c <extract from zip>`);
  }
  writeFileSync(path.join(tfDir, 'SOURCE'), `${path.basename(wheel)}\n`);

  // 3. tfjs-node's JS and sources, without its install script (which would download from Google).
  const installed = existsSync(path.join(pkgDir, 'package.json')) && JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version === TFJS_NODE_VERSION;
  if (!installed || args.force) {
    run('npm', ['install', '--no-save', '--ignore-scripts', '--no-audit', '--no-fund', `@tensorflow/tfjs-node@${TFJS_NODE_VERSION}`]);
  }

  // 4. deps/ as tfjs-node's binding.gyp expects it, then the addon.
  const depsDir = path.join(pkgDir, 'deps');
  rmSync(depsDir, { recursive: true, force: true });
  mkdirSync(path.join(depsDir, 'lib'), { recursive: true });
  const rel = (to) => path.relative(path.join(depsDir, 'lib'), to);
  for (const l of libs) symlinkSync(rel(path.join(tfDir, 'lib', l)), path.join(depsDir, 'lib', l));
  // -ltensorflow / -ltensorflow_framework link by these names; the addon then records the
  // libraries' sonames (libtensorflow_cc.so.2, libtensorflow_framework.so.2) and finds them via
  // its rpath $ORIGIN/../../deps/lib. libtensorflow.so.2 is the file tfjs-node's install script checks.
  symlinkSync('libtensorflow_cc.so.2', path.join(depsDir, 'lib/libtensorflow.so'));
  symlinkSync('libtensorflow_cc.so.2', path.join(depsDir, 'lib/libtensorflow.so.2'));
  symlinkSync('libtensorflow_framework.so.2', path.join(depsDir, 'lib/libtensorflow_framework.so'));
  symlinkSync(path.relative(depsDir, path.join(tfDir, 'include')), path.join(depsDir, 'include'));

  const pkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  // The N-API version node-pre-gyp's find() (used by tfjs-node's dist/index.js) looks for.
  const napi = Math.max(...pkg.binary.napi_versions.filter((v) => v <= Number(process.versions.napi)));
  const modulePath = path.join(pkgDir, pkg.binary.module_path.replace('{napi_build_version}', String(napi)));
  const npmNodeGyp = path.join(path.dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
  const nodeGyp = existsSync(npmNodeGyp) ? [process.execPath, [npmNodeGyp]] : ['npm', ['exec', '--yes', '--package=node-gyp@11', '--', 'node-gyp']];
  const nodeDir = path.resolve(path.dirname(process.execPath), '..');
  const headers = existsSync(path.join(nodeDir, 'include/node/node_api.h')) && existsSync(path.join(nodeDir, 'include/node/common.gypi'));
  run(nodeGyp[0], [...nodeGyp[1], 'rebuild', `--jobs=${Math.max(1, os.availableParallelism())}`, ...(headers ? [`--nodedir=${nodeDir}`] : []), `--napi_build_version=${napi}`, '--module_name=tfjs_binding', `--module_path=${modulePath}`], { cwd: pkgDir });
  log(`built ${path.relative(root, path.join(modulePath, 'tfjs_binding.node'))} in ${((Date.now() - started) / 1000).toFixed(0)} s (total so far)`);
}

// 5. Verify in a fresh process.
if (!existsSync(path.join(pkgDir, 'package.json'))) fail('@tensorflow/tfjs-node is not installed: run `npm run native`');
const verify = `
const tf = require('@tensorflow/tfjs-node');
const out = tf.tensor2d([[1, 2], [3, 4]]).matMul(tf.tensor2d([[5, 6], [7, 8]])).arraySync();
if (JSON.stringify(out) !== '[[19,22],[43,50]]') throw new Error('matMul gave ' + JSON.stringify(out));
console.log(JSON.stringify({ backend: tf.getBackend(), tfjs: tf.version.tfjs, tensorflow: tf.backend().binding.TF_Version }));
`;
const r = spawnSync(process.execPath, ['-e', verify], { cwd: root, encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
if (r.status !== 0) fail(`require('@tensorflow/tfjs-node') failed:\n${r.stderr}`);
const info = JSON.parse(r.stdout.trim().split('\n').at(-1));
if (info.backend !== 'tensorflow') fail(`tf.getBackend() is ${info.backend}, expected 'tensorflow'`);
log(`ok: @tensorflow/tfjs-node ${info.tfjs} loads, backend '${info.backend}', TensorFlow C library ${info.tensorflow}`);
