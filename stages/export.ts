import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { KdError } from '../lib/errors.js';
import path from 'node:path';
import { writeDirAtomic } from '../lib/atomic-dir.js';
import { loadTf } from '../lib/ml/backend/backend.js';
import { pathSha256, sha256Parts } from '../lib/ml/export/content-hash.js';
import { readSplit } from '../lib/ml/data/dataset.js';
import { classifierFromFiles, layersFiles, readFloatModel, writeLayersFiles, type FloatModel } from '../lib/ml/models/layers-files.js';
import { readCardMetrics, renderModelCard, type ModelCardInfo } from '../lib/ml/export/model-card.js';
import { loadLayersModel, modelInputEncoder } from '../lib/ml/models/model-io.js';
import { TOKENIZER_CONFIG_FILE, TOKENIZER_FILE } from '../lib/ml/text/student-tokenizer.js';
import { loadMlParams } from '../lib/ml/params.js';
import { loadTestSet, requireInputs } from '../lib/ml/data/test-set.js';
import { checkModelIo, scoreVariants, tfjsVariant, type WrittenVariant } from '../lib/ml/export/variant-scores.js';
import { ONNX_DIR, ONNX_FILES, ONNX_TOKENIZER_FILE, onnxModels, onnxTokenizer, onnxVariantName, type StudentTokenizer } from '../lib/ml/export/onnx/onnx-export.js';
import { ONNX_INPUT, ONNX_OUTPUT, UnsupportedLayerError, type OnnxPrecision } from '../lib/ml/export/onnx/student-onnx.js';
import { OPSET } from '../lib/ml/export/onnx/onnx-graph.js';
import { onnxClassifier } from '../lib/ml/export/onnx/onnx-classifier.js';
import { renderExportReadme } from '../lib/ml/export/export-readme.js';
import { packageVersion } from '../lib/package-root.js';
import { UNK, PAD } from '../lib/ml/text/text.js';
import { reportStageTag } from '../lib/pipeline/stage-tags.js';
import { loadTrackingConfig } from '../lib/tracking/config.js';

const EXPORT_DIR = 'artifacts/export';
const STUDENT_DIR = 'artifacts/student';
const METRICS_FILE = 'artifacts/metrics.json';
/** The stage's declared deps: their content hashes are the export's lineage. */
const LINEAGE = ['artifacts/data', 'artifacts/vocab.json', STUDENT_DIR, METRICS_FILE];

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/**
 * The student as the export the server and `kd-pipeline predict` read (lib/serve/export-bundle.ts),
 * in each of `export.formats`: tfjs (float32 model plus quantised variants) and ONNX (float32 and
 * int8 files with a tokenizer.json other runtimes read); vocab, labels, preprocessing, metadata,
 * model card and README. Every variant is loaded back (ONNX through onnxruntime-node), scored on the
 * test split against the float32 tfjs model and timed before the directory is swapped in.
 */
export async function run(root: string): Promise<void> {
  const params = loadMlParams(root);
  requireInputs(root, 'export', ['artifacts/data/test.jsonl', 'artifacts/data/labels.json', ...LINEAGE]);
  const set = loadTestSet(root, params.text.max_len);
  const metrics = readCardMetrics(path.join(root, METRICS_FILE));
  const { tf, info } = await loadTf();
  reportStageTag('kd.backend', info.backend);

  const studentDir = path.join(root, STUDENT_DIR);
  const student = readFloatModel(studentDir);
  const encoder = modelInputEncoder(studentDir, set);
  // A student over pieces carries its tokenizer: the export's one definition of its input.
  const tokenizerFiles = encoder.kind === 'pieces' ? [TOKENIZER_FILE, TOKENIZER_CONFIG_FILE].map((name) => [name, readFileSync(path.join(studentDir, name))] as const) : [];
  const loaded = await loadLayersModel(studentDir);
  checkModelIo(loaded, set, path.join(STUDENT_DIR, 'model.json'));
  const paramCount = loaded.countParams();
  loaded.dispose();

  const preprocessing = { tokenizer: encoder.kind, lowercase: params.text.lowercase, strip_accents: params.text.strip_accents, max_len: encoder.maxLen };
  const preprocessingJson = json(preprocessing);
  const vocabBytes = readFileSync(path.join(root, 'artifacts/vocab.json'));
  const float32 = layersFiles(student, 'float32');
  const fingerprint = sha256Parts([float32.weights, vocabBytes, Buffer.from(preprocessingJson), ...tokenizerFiles.map(([, bytes]) => bytes)]);
  const exportedAt = new Date().toISOString();
  // Sorts by date; the fingerprint part tells two exports of one day apart.
  const version = `${exportedAt.slice(0, 10).replace(/-/g, '')}.${fingerprint.slice(0, 8)}`;
  const { registeredModel } = await loadTrackingConfig(root);
  const data = path.join(root, 'artifacts/data');
  const splits = { train: readSplit(path.join(data, 'train.jsonl')).length, val: readSplit(path.join(data, 'val.jsonl')).length, test: set.rows };
  const lineage = Object.fromEntries(LINEAGE.map((rel) => [rel, pathSha256(path.join(root, rel))]));

  const formats = new Set(params.export.formats);
  const outcome = formats.has('onnx') ? onnxFiles(student, set.labels, encoder.kind === 'pieces' ? { kind: 'pieces', tokenizerJson: tokenizerFiles[0]![1].toString('utf8') } : { kind: 'words', vocab: set.vocab, options: params.text, maxLen: encoder.maxLen }, !formats.has('tfjs')) : null;
  const onnx = outcome && 'models' in outcome ? outcome : null;
  const written = [...(formats.has('tfjs') ? ['tfjs'] : []), ...(onnx ? ['onnx'] : [])];

  await writeDirAtomic(path.join(root, EXPORT_DIR), async (tmp) => {
    const variants = new Map<string, WrittenVariant>();
    if (formats.has('tfjs')) {
      variants.set('float32', tfjsVariant(tmp, writeLayersFiles(tmp, float32), set, encoder));
      for (const dtype of new Set(params.export.quantize)) {
        const dir = path.join(tmp, dtype);
        mkdirSync(dir);
        variants.set(dtype, tfjsVariant(dir, writeLayersFiles(dir, layersFiles(student, dtype)), set, encoder));
      }
    }
    if (onnx) {
      const dir = path.join(tmp, ONNX_DIR);
      mkdirSync(dir);
      for (const [precision, bytes] of Object.entries(onnx.models) as [OnnxPrecision, Uint8Array][]) {
        writeFileSync(path.join(dir, ONNX_FILES[precision]), bytes);
        variants.set(onnxVariantName(precision), { sizeBytes: bytes.byteLength, load: () => onnxClassifier(bytes, encoder, paramCount) });
      }
      writeFileSync(path.join(dir, ONNX_TOKENIZER_FILE), onnx.tokenizer.json);
      // transformers.js and @huggingface/tokenizers take a word-level model's unknown token from here.
      writeFileSync(path.join(dir, TOKENIZER_CONFIG_FILE), encoder.kind === 'pieces' ? tokenizerFiles[1]![1] : json({ unk_token: UNK, pad_token: PAD, model_max_length: encoder.maxLen }));
    }
    // The test split in one batch: evaluate.* is not among this stage's params, and it is small.
    const variantScores = await scoreVariants(variants, () => classifierFromFiles(float32, encoder), set, set.rows);
    const onnxInfo = onnx
      ? {
          folder: `${ONNX_DIR}/`,
          files: { ...ONNX_FILES, tokenizer: ONNX_TOKENIZER_FILE },
          opset: OPSET,
          input: `${ONNX_INPUT}: int64 [batch, sequence], ids from ${ONNX_TOKENIZER_FILE} without special tokens, padded with 0`,
          output: `${ONNX_OUTPUT}: float32 [batch, ${set.labels.length}]`,
          tokenizer_limits: onnx.tokenizer.limits,
        }
      : { skipped: outcome && 'skipped' in outcome ? outcome.skipped : 'not in export.formats' };

    const card: ModelCardInfo = {
      name: registeredModel,
      version,
      fingerprint,
      exportedAt,
      backend: info.backend,
      tfPackage: info.package,
      dataSource: params.data.path,
      splits,
      labels: set.labels,
      preprocessing,
      vocabSize: Object.keys(set.vocab).length,
      metrics,
      variants: variantScores,
      formats: written,
      lineage,
    };
    writeFileSync(path.join(tmp, 'vocab.json'), vocabBytes);
    for (const [name, bytes] of tokenizerFiles) writeFileSync(path.join(tmp, name), bytes);
    writeFileSync(path.join(tmp, 'labels.json'), json(set.labels));
    writeFileSync(path.join(tmp, 'preprocessing.json'), preprocessingJson);
    writeFileSync(
      path.join(tmp, 'metadata.json'),
      json({
        name: card.name,
        version,
        fingerprint,
        exported_at: exportedAt,
        backend: info.backend,
        tfjs_package: info.package,
        formats: written,
        // The tfjs model's input and output (the ONNX ones are under `onnx`); left out when it is not written.
        format: formats.has('tfjs') ? `tfjs layers-model; input int32 ${encoder.kind === 'pieces' ? 'piece ids from tokenizer.json (no special tokens; pad id 0) [batch, up to max_len]' : 'word ids from vocab.json [batch, max_len]'}; output logits [batch, labels]` : undefined,
        labels: set.labels,
        preprocessing,
        vocab_size: card.vocabSize,
        data: { source: card.dataSource, ...splits },
        params: paramCount,
        metrics,
        variants: variantScores,
        onnx: onnxInfo,
        lineage,
      }),
    );
    writeFileSync(path.join(tmp, 'model-card.md'), renderModelCard(card));
    writeFileSync(path.join(tmp, 'README.md'), renderExportReadme({ name: registeredModel, labels: set.labels, formats: written, tokenizer: encoder.kind, onnxTokenizerLimits: onnx ? onnx.tokenizer.limits : null }));
  });
  // lib/tracking registers a new model version from this directory's uploaded artifacts.
  reportStageTag('kd.register_model', EXPORT_DIR);
  const files = [...(formats.has('tfjs') ? ['float32', ...new Set(params.export.quantize)] : []), ...(written.includes('onnx') ? Object.values(ONNX_FILES).map((name) => `${ONNX_DIR}/${name}`) : [])];
  process.stderr.write(`export: ${EXPORT_DIR} (${files.join(', ')}), fingerprint ${fingerprint.slice(0, 12)}\n`);
}

/**
 * The ONNX files and their tokenizer, or why they are not written: a student layer the ONNX writer
 * does not know is one warning naming it and the tfjs export goes on, unless tfjs is not among the
 * formats (then it is the stage's error, and nothing is written).
 */
function onnxFiles(student: FloatModel, labels: string[], tokenizer: StudentTokenizer, only: boolean): { models: Record<OnnxPrecision, Uint8Array>; tokenizer: ReturnType<typeof onnxTokenizer> } | { skipped: string } {
  try {
    return { models: onnxModels(student, labels, { producerVersion: packageVersion(), tokenizer: tokenizer.kind }), tokenizer: onnxTokenizer(tokenizer) };
  } catch (error) {
    if (!(error instanceof UnsupportedLayerError)) throw error;
    if (only) throw new KdError(`${error.message}; export.formats names onnx only, so nothing is written`);
    process.stderr.write(`${error.message}; the tfjs export is written without it\n`);
    return { skipped: error.message };
  }
}
