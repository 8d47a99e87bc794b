import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { KdError } from '../../errors.js';
import { parseOrThrow } from '../../validation.js';
import type { VariantScore } from './variant-scores.js';
import { ONNX_DIR, ONNX_FILES } from './onnx/onnx-export.js';
import type { OnnxPrecision } from './onnx/student-onnx.js';

/** The keys of artifacts/metrics.json (written by the evaluate stage) that the export carries. */
const CARD_METRICS = [
  'student.accuracy',
  'student.f1_macro',
  'student.ece',
  'student.params',
  'student.size_bytes',
  'student.latency_p50_ms',
  'student.latency_p95_ms',
  'student.throughput_per_s',
  'student.param_ratio',
  'student.latency_speedup',
  'student.distillation_gain',
  'teacher.accuracy',
  'teacher.params',
  'baseline.accuracy',
  'teacher_student.agreement',
  'test.examples',
] as const;
type CardMetric = (typeof CARD_METRICS)[number];
/** Quoted when present: evaluate leaves the per-model keys out when no test sentence holds a word unseen in training. */
const OPTIONAL_CARD_METRICS = ['test.unseen_word_examples', 'teacher.accuracy_unseen_words', 'student.accuracy_unseen_words'] as const;
type OptionalCardMetric = (typeof OPTIONAL_CARD_METRICS)[number];
export type CardMetrics = Record<CardMetric, number> & Partial<Record<OptionalCardMetric, number>>;

const cardMetricsSchema = z.looseObject({
  ...(Object.fromEntries(CARD_METRICS.map((key) => [key, z.number()])) as Record<CardMetric, z.ZodNumber>),
  ...(Object.fromEntries(OPTIONAL_CARD_METRICS.map((key) => [key, z.number().optional()])) as Record<OptionalCardMetric, z.ZodOptional<z.ZodNumber>>),
});

/** The evaluation metrics the model card and metadata.json quote; a missing key is named (re-run evaluate). */
export function readCardMetrics(file: string): CardMetrics {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new KdError(`${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing (run the evaluate stage first)' : (error as Error).message}`);
  }
  const parsed = parseOrThrow(cardMetricsSchema, raw, file);
  return Object.fromEntries([...CARD_METRICS, ...OPTIONAL_CARD_METRICS].flatMap((key) => (parsed[key] === undefined ? [] : [[key, parsed[key]]]))) as CardMetrics;
}

export interface ModelCardInfo {
  name: string;
  version: string;
  fingerprint: string;
  exportedAt: string;
  backend: string;
  tfPackage: string;
  dataSource: string;
  splits: { train: number; val: number; test: number };
  labels: string[];
  preprocessing: { tokenizer: 'words' | 'pieces'; lowercase: boolean; strip_accents: boolean; max_len: number };
  vocabSize: number;
  metrics: CardMetrics;
  variants: Record<string, VariantScore>;
  /** The export formats written (tfjs, onnx). */
  formats: readonly string[];
  /** Project-relative input path → SHA-256 of its content. */
  lineage: Record<string, string>;
}

const pct = (value: number) => `${(value * 100).toFixed(1)} %`;

/** model-card.md: what the model is, what it was trained on, how well and how fast it does, where it came from. */
function inputText(info: ModelCardInfo): string {
  const p = info.preprocessing;
  if (p.tokenizer === 'pieces') {
    return `Inputs are split into the teacher encoder's sub-word pieces by \`tokenizer.json\` (Hugging Face format; no special tokens, pad id 0), at most ${p.max_len} pieces; no word is unknown.`;
  }
  return (
    `Inputs are normalised and tokenised as \`preprocessing.json\` says (lowercase: ${p.lowercase}, strip accents: ${p.strip_accents}, at most ${p.max_len} tokens; ` +
    `words outside the ${info.vocabSize.toLocaleString('en-US')}-entry vocabulary count as \`<unk>\`).`
  );
}

/** A paragraph on the test sentences holding a word the training split never had, when there are some. */
function unseenWordsText(m: CardMetrics): string {
  const count = m['test.unseen_word_examples'];
  const [teacher, student] = [m['teacher.accuracy_unseen_words'], m['student.accuracy_unseen_words']];
  if (!count || teacher === undefined || student === undefined) return '';
  return `\nOn the ${count} test sentences holding a word the training split never had: teacher ${pct(teacher)}, this student ${pct(student)}.\n`;
}

const FORMAT_NAMES: Record<string, string> = { tfjs: 'a TensorFlow.js layers model', onnx: 'ONNX (float32 and int8)' };

/** Where a variant's files lie in the export: the float32 tfjs model at the top, quantised ones in sub-folders, ONNX in onnx/. */
function variantFiles(name: string): string {
  if (name === 'float32') return '`model.json`, `weights.bin`';
  if (name.startsWith('onnx_')) return `\`${ONNX_DIR}/${ONNX_FILES[name.slice('onnx_'.length) as OnnxPrecision]}\``;
  return `\`${name}/\``;
}

export function renderModelCard(info: ModelCardInfo): string {
  const m = info.metrics;
  const variantRows = Object.entries(info.variants).map(
    ([name, v]) => `| ${name} | ${variantFiles(name)} | ${v.size_bytes.toLocaleString('en-US')} | ${pct(v.accuracy)} | ${pct(v.agreement_float32)} | ${v.latency_p50_ms.toFixed(3)} ms |`,
  );
  return `# ${info.name} ${info.version}

A small text classifier distilled from a larger teacher (knowledge distillation), exported as
${info.formats.map((format) => FORMAT_NAMES[format]).join(' and ')} (README.md shows how to run it). It outputs one logit per label; softmax gives the probabilities.

## Intended use

Classifying short sentences into ${info.labels.length} classes: ${info.labels.map((l) => `\`${l}\``).join(', ')}. ${inputText(info)}
It knows nothing beyond the domain of its training data.

## Data

Source \`${info.dataSource}\`: ${info.splits.train} training, ${info.splits.val} validation and ${info.splits.test} test sentences (stratified split).

## Model

${m['student.params'].toLocaleString('en-US')} parameters (${pct(m['student.param_ratio'])} of the teacher's ${m['teacher.params'].toLocaleString('en-US')}).

## Evaluation (test split, ${m['test.examples']} sentences)

| | accuracy |
| --- | ---: |
| teacher | ${pct(m['teacher.accuracy'])} |
| **this student** | **${pct(m['student.accuracy'])}** |
| baseline (same student, no teacher) | ${pct(m['baseline.accuracy'])} |

Macro F1 ${m['student.f1_macro'].toFixed(4)}, expected calibration error ${m['student.ece'].toFixed(4)}, agreement with the
teacher ${pct(m['teacher_student.agreement'])}, distillation gain ${(m['student.distillation_gain'] * 100).toFixed(1)} points of accuracy.
Latency on the tfjs \`${info.backend}\` backend: p50 ${m['student.latency_p50_ms'].toFixed(2)} ms, p95 ${m['student.latency_p95_ms'].toFixed(2)} ms per
sentence (${m['student.latency_speedup'].toFixed(1)}× faster than the teacher), ${Math.round(m['student.throughput_per_s']).toLocaleString('en-US')} sentences/s in batches.
${unseenWordsText(m)}
## Formats and quantised variants

Accuracy measured on the same test split after loading each variant as a consumer would (ONNX
through onnxruntime-node); agreement with the float32 tfjs model; p50 latency of one sentence
(tfjs on the fastest tfjs backend here, ONNX on onnxruntime-node, one thread).

| variant | files | bytes | accuracy | agrees with float32 | p50 latency |
| --- | --- | ---: | ---: | ---: | ---: |
${variantRows.join('\n')}

## Lineage

- fingerprint (SHA-256 of weights, vocab.json, preprocessing.json and the tokenizer files): \`${info.fingerprint}\`
- exported ${info.exportedAt} with ${info.tfPackage} (\`${info.backend}\` backend)
${Object.entries(info.lineage)
  .map(([file, hash]) => `- \`${file}\`: sha256 \`${hash}\``)
  .join('\n')}
`;
}
