/**
 * The export folder's README.md: what each file is and how to run the student outside
 * kd-pipeline — Python (onnxruntime + tokenizers) and the browser (onnxruntime-web) — with
 * examples a reader can paste as they are (docs/evaluate-export.md quotes the same ones).
 */
export const PYTHON_EXAMPLE = `import json, numpy as np, onnxruntime as ort
from tokenizers import Tokenizer

session = ort.InferenceSession("onnx/model.onnx")  # or onnx/model.int8.onnx
tokenizer = Tokenizer.from_file("onnx/tokenizer.json")
labels = json.loads(session.get_modelmeta().custom_metadata_map["labels"])

def classify(text):
    ids = np.array([tokenizer.encode(text).ids or [0]], dtype=np.int64)
    logits = session.run(["logits"], {"input_ids": ids})[0][0]
    probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    return labels[int(probs.argmax())], {l: round(float(p), 4) for l, p in zip(labels, probs)}

print(classify("this film was great"))`;

export const BROWSER_EXAMPLE = `<script type="module">
  // Serve the export folder beside this page; pin the versions you test with.
  import * as ort from 'https://cdn.jsdelivr.net/npm/onnxruntime-web@1.31.1/dist/ort.min.mjs';
  import { Tokenizer } from 'https://cdn.jsdelivr.net/npm/@huggingface/tokenizers@0.2.0/dist/tokenizers.min.mjs';
  const json = (file) => fetch(file).then((response) => response.json());
  const [session, tokenizerJson, tokenizerConfig, labels] = await Promise.all([
    ort.InferenceSession.create('onnx/model.onnx'), json('onnx/tokenizer.json'), json('onnx/tokenizer_config.json'), json('labels.json'),
  ]);
  const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
  async function classify(text) {
    const ids = tokenizer.encode(text, { add_special_tokens: false }).ids.slice(0, tokenizerJson.truncation.max_length);
    const input = new ort.Tensor('int64', BigInt64Array.from(ids.length ? ids : [0], BigInt), [1, Math.max(ids.length, 1)]);
    const logits = Array.from((await session.run({ input_ids: input })).logits.data);
    const exp = logits.map((x) => Math.exp(x - Math.max(...logits)));
    const best = exp.indexOf(Math.max(...exp));
    return { label: labels[best], probability: exp[best] / exp.reduce((a, b) => a + b) };
  }
  console.log(await classify('this film was great'));
</script>`;

export interface ExportReadmeInfo {
  name: string;
  labels: readonly string[];
  formats: readonly string[];
  tokenizer: 'words' | 'pieces';
  /** What onnx/tokenizer.json cannot express (the word student's segmentation), if anything. */
  onnxTokenizerLimits: string | null;
}

export function renderExportReadme(info: ExportReadmeInfo): string {
  const tfjs = info.formats.includes('tfjs');
  const onnx = info.formats.includes('onnx');
  const files = [
    ...(tfjs ? ['| `model.json`, `weights.bin` | TensorFlow.js layers model, float32 (`float16/`, `uint8/`: quantised variants) |'] : []),
    ...(onnx
      ? [
          '| `onnx/model.onnx` | ONNX, float32: input `input_ids` int64 `[batch, sequence]` (pad id 0), output `logits` float32 `[batch, classes]`; labels in its metadata (`labels`) |',
          '| `onnx/model.int8.onnx` | the same with int8 weights (dequantised in the graph), about a quarter of the size |',
          `| \`onnx/tokenizer.json\`, \`onnx/tokenizer_config.json\` | Hugging Face tokenizer of the model's input (${info.tokenizer === 'pieces' ? 'the teacher\'s WordPiece pieces the student knows' : 'a word-level model over vocab.json'}); encode without special tokens |`,
        ]
      : []),
    '| `labels.json` | class names, index = output logit |',
    '| `vocab.json`, `preprocessing.json` | what kd-pipeline itself tokenises with |',
    '| `metadata.json`, `model-card.md` | version, fingerprint, data, metrics per format, lineage |',
  ];
  const onnxSections = onnx
    ? `
## Python (onnxruntime + tokenizers)

\`pip install onnxruntime tokenizers numpy\`, then, in this folder:

\`\`\`python
${PYTHON_EXAMPLE}
\`\`\`

## Browser (onnxruntime-web)

\`\`\`html
${BROWSER_EXAMPLE}
\`\`\`
${info.onnxTokenizerLimits ? `\n**Tokenizer limits.** ${info.onnxTokenizerLimits}.\n` : ''}
Any other ONNX Runtime (C++, C#, Java/Android, Objective-C/Swift, Rust, Go) takes the same input:
the ids of \`onnx/tokenizer.json\`, one row per text, shorter rows padded with 0 (a padded text gets
the same logits as alone).
`
    : '';
  return `# ${info.name}: the exported student

Classifies a text into ${info.labels.length} classes: ${info.labels.map((l) => `\`${l}\``).join(', ')}. The model outputs
logits; softmax gives probabilities. \`model-card.md\` has its accuracy, size and latency per format.

| file | content |
| --- | --- |
${files.join('\n')}

## kd-pipeline

\`kd-pipeline predict --model <this folder> "some text"\` ${onnx ? '(`--runtime onnx` runs `onnx/model.onnx` through onnxruntime-node; add `--variant int8` for the int8 file) ' : ''}or
\`kd-pipeline serve --model <this folder>\`${onnx ? ' (also `--runtime onnx`)' : ''}.
${onnxSections}`;
}
