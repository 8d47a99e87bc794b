import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { KdError } from '../../errors.js';
import type { MlParams } from '../params.js';
import { readEncoderFolder } from '../teacher/encoder-folder.js';
import { PAD, UNK } from './text.js';
import { type InputEncoder, pieceEncoder, type TokenizerJson, wordEncoder } from './student-input.js';

/** The student's tokenizer files, written beside its model.json (and into the export) with `student.tokenizer: encoder`. */
export const TOKENIZER_FILE = 'tokenizer.json';
export const TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';

interface AddedToken {
  id: number;
  content: string;
  special?: boolean;
}

type FullTokenizerJson = TokenizerJson & { added_tokens?: AddedToken[]; padding?: { pad_token?: string } | null };

function readJsonFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new KdError(`${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (error as Error).message}`);
  }
}

/**
 * The teacher's WordPiece tokenizer pruned to the pieces `texts` use, plus every one-character
 * piece (with and without the `##` prefix) so an unseen word still splits into known pieces
 * rather than [UNK]. Greedy longest-match WordPiece picks the same pieces from a subset that keeps
 * the pieces it picked from the whole vocabulary, so the texts tokenise exactly as before. The pad
 * token gets id 0 (the student's pad id), the other special tokens follow, then the pieces in
 * their original order. No [CLS]/[SEP] template: the student reads the pieces alone, and the file
 * gives the same ids in Python's `tokenizers`. `maxLen` becomes its truncation length.
 */
export function prunedTokenizer(full: FullTokenizerJson, config: Record<string, unknown>, texts: Iterable<string>, maxLen: number, source: string): TokenizerJson {
  if (full.model?.type !== 'WordPiece') {
    throw new KdError(`${source}: student.tokenizer: encoder prunes WordPiece tokenizers (BERT-family encoders), but this one is ${full.model?.type ?? 'of no known type'}: set student.tokenizer: words`);
  }
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(full, config);
  } catch (error) {
    throw new KdError(`${source}: transformers.js cannot read this tokenizer (${(error as Error).message})`);
  }
  const prefix = String((full.model as { continuing_subword_prefix?: string }).continuing_subword_prefix ?? '##');
  const special = (full.added_tokens ?? []).filter((token) => token.special);
  const padToken = full.padding?.pad_token ?? special.find((token) => token.content === '[PAD]' || token.content === '<pad>')?.content;
  if (!padToken) throw new KdError(`${source}: no pad token (padding.pad_token or a [PAD] special token)`);

  const keep = new Set<string>(special.map((token) => token.content));
  for (const text of texts) for (const piece of tokenizer.tokenize(text, { add_special_tokens: false })) keep.add(piece);
  for (const piece of Object.keys(full.model.vocab)) {
    const bare = piece.startsWith(prefix) ? piece.slice(prefix.length) : piece;
    if ([...bare].length === 1) keep.add(piece);
  }
  const ordered = Object.entries(full.model.vocab)
    .filter(([piece]) => keep.has(piece) && piece !== padToken)
    .sort(([, a], [, b]) => a - b)
    .map(([piece]) => piece);
  const vocab = Object.fromEntries([padToken, ...ordered].map((piece, id) => [piece, id]));
  return {
    ...full,
    truncation: { max_length: maxLen, strategy: 'LongestFirst', stride: 0, direction: 'Right' },
    padding: null,
    added_tokens: (full.added_tokens ?? []).filter((token) => vocab[token.content] !== undefined).map((token) => ({ ...token, id: vocab[token.content]! })),
    post_processor: null,
    model: { ...full.model, vocab },
  };
}

/** What the training stages read a text with: the encoder, and the files that define it (saved beside the model; none for words). */
export interface StudentInput {
  encoder: InputEncoder;
  /** Rows of the student's embedding table: pieces (special tokens included) or words. */
  vocabSize: number;
  /** With pieces: each student id's id in the encoder's own vocabulary (what its embedding table is indexed by). */
  encoderIds?: Int32Array;
  files: Record<string, string>;
}

/**
 * The student's input for `params`: with `student.tokenizer: encoder` the teacher's tokenizer
 * pruned to the pieces of the training sentences and of every vocabulary word (the transfer set is
 * made of those and the mask token), reading `student.max_tokens`; with `words` the word vocabulary.
 */
export function studentInput(root: string, params: MlParams, trainTexts: readonly string[], vocab: Readonly<Record<string, number>>): StudentInput {
  if (params.student.tokenizer === 'words') return { encoder: wordEncoder(vocab, params.text, params.text.max_len), vocabSize: Object.keys(vocab).length, files: {} };
  if (!params.teacher.members.includes('transformer')) {
    throw new KdError('params.yaml: student.tokenizer: encoder reads the teacher\'s own tokenizer, but teacher.members has no transformer (no encoder): add one, or set student.tokenizer: words');
  }
  const { dir } = readEncoderFolder(root);
  const source = path.join(dir, TOKENIZER_FILE);
  const full = readJsonFile(source) as FullTokenizerJson;
  const config = readJsonFile(path.join(dir, TOKENIZER_CONFIG_FILE)) as Record<string, unknown>;
  const words = Object.keys(vocab).filter((word) => word !== PAD && word !== UNK);
  const json = prunedTokenizer(full, config, [...trainTexts, ...words], params.student.max_tokens, source);
  return {
    encoder: pieceEncoder(json, config),
    vocabSize: Object.keys(json.model.vocab).length,
    encoderIds: Int32Array.from(Object.entries(json.model.vocab).sort(([, a], [, b]) => a - b), ([piece]) => full.model.vocab[piece]!),
    files: { [TOKENIZER_FILE]: `${JSON.stringify(json)}\n`, [TOKENIZER_CONFIG_FILE]: `${JSON.stringify(config, null, 2)}\n` },
  };
}
