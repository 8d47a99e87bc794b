import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AutoTokenizer } from '@huggingface/transformers';
import { Tokenizer } from '@huggingface/tokenizers';
import { afterAll, describe, expect, it } from 'vitest';
import { pieceEncoder, type TokenizerJson } from '../../lib/ml/text/student-input.js';
import { prunedTokenizer, TOKENIZER_CONFIG_FILE, TOKENIZER_FILE } from '../../lib/ml/text/student-tokenizer.js';
import { defaultEncoderDir, REPO } from './encoder-fixture.js';

const encoderDir = defaultEncoderDir();
const full = JSON.parse(readFileSync(path.join(encoderDir, TOKENIZER_FILE), 'utf8'));
const config = JSON.parse(readFileSync(path.join(encoderDir, TOKENIZER_CONFIG_FILE), 'utf8'));
const fullTokenizer = new Tokenizer(full, config);

// What the student learns from: a few training sentences (German, French and Chinese among them).
const TRAINING = ['The food was absolutely wonderful!', 'Ich fand den Film großartig.', "C'est un très mauvais restaurant.", '这部电影很好看', 'Not worth a [MASK] penny.'];
// Texts it never saw: unknown words must split into pieces, never [UNK].
const UNSEEN = ['Zyxqwv flibbertigibbet unbelievably', 'Die Bedienung war unfreundlich', 'Sehr gut, ça marche', ''];

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function studentFolder(json: TokenizerJson): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'kd-student-tokenizer-'));
  dirs.push(dir);
  writeFileSync(path.join(dir, TOKENIZER_FILE), JSON.stringify(json));
  writeFileSync(path.join(dir, TOKENIZER_CONFIG_FILE), JSON.stringify(config));
  return dir;
}

describe('the student tokenizer (the teacher\'s WordPiece, pruned)', () => {
  const json = prunedTokenizer(full, config, TRAINING, 64, 'models/encoder/tokenizer.json');
  const encoder = pieceEncoder(json, config);
  const idToPiece = Object.fromEntries(Object.entries(json.model.vocab).map(([piece, id]) => [id, piece]));

  it('keeps exactly the pieces of the training texts, with the pad token at id 0, and tokenises them as the full tokenizer does', () => {
    expect(json.model.vocab['[PAD]']).toBe(0);
    const size = Object.keys(json.model.vocab).length;
    expect(size).toBeLessThan(Object.keys(full.model.vocab).length / 10);
    expect(new Set(Object.values(json.model.vocab)).size).toBe(size); // ids are 0..size-1, no gaps or repeats
    expect(Math.max(...Object.values(json.model.vocab))).toBe(size - 1);
    for (const text of TRAINING) {
      const pieces = [...encoder.ids(text)].map((id) => idToPiece[id]);
      expect(pieces).toEqual(fullTokenizer.tokenize(text, { add_special_tokens: false }));
    }
  });

  it('splits words it never saw into known pieces, never [UNK], and truncates to its length', () => {
    const unknown = json.model.vocab['[UNK]'];
    for (const text of UNSEEN) expect([...encoder.ids(text)]).not.toContain(unknown);
    expect(encoder.ids('good '.repeat(100)).length).toBe(64);
    expect(encoder.maxLen).toBe(64);
  });

  it('gives the ids transformers.js gives when it loads the same folder', async () => {
    const dir = studentFolder(json);
    const tokenizer = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
    for (const text of [...TRAINING, ...UNSEEN.filter((t) => t !== '')]) {
      const { input_ids } = tokenizer(text, { add_special_tokens: false, truncation: true, max_length: 64 });
      expect(Array.from(input_ids.data as BigInt64Array, Number)).toEqual([...encoder.ids(text)]);
    }
  });

  it('gives the same ids in Python\'s Rust tokenizers (Tokenizer.from_file, defaults)', () => {
    const dir = studentFolder(json);
    const texts = [...TRAINING, ...UNSEEN, 'word '.repeat(100)];
    const python = path.join(REPO, '.venv/bin/python');
    const script = 'import json,sys\nfrom tokenizers import Tokenizer\nt=Tokenizer.from_file(sys.argv[1])\nprint(json.dumps([t.encode(x).ids for x in json.load(sys.stdin)]))';
    const ids = JSON.parse(execFileSync(python, ['-c', script, path.join(dir, TOKENIZER_FILE)], { input: JSON.stringify(texts), encoding: 'utf8' })) as number[][];
    expect(ids).toEqual(texts.map((text) => [...encoder.ids(text)]));
  });

  it('refuses a tokenizer it cannot prune or read, naming the file', () => {
    expect(() => prunedTokenizer({ ...full, model: { ...full.model, type: 'BPE' } }, config, TRAINING, 64, 'my/tokenizer.json')).toThrow(
      /^my\/tokenizer\.json: student\.tokenizer: encoder prunes WordPiece tokenizers .* set student\.tokenizer: words$/,
    );
    expect(() => prunedTokenizer({ ...full, normalizer: { type: 'NoSuchNormalizer' } }, config, TRAINING, 64, 'my/tokenizer.json')).toThrow(/^my\/tokenizer\.json: transformers\.js cannot read this tokenizer/);
  });
});
