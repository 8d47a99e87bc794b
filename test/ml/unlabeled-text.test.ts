import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { unlabeledSentences, type UnlabeledFileStats } from '../../lib/ml/data/unlabeled-text.js';

const root = mkdtempSync(path.join(tmpdir(), 'kd-unlabeled-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function read(files: Record<string, string | Buffer>, heldOut: string[] = []) {
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(root, name), content);
  const stats: UnlabeledFileStats[] = [];
  const sources = Object.keys(files).map((file) => ({ file, column: 'text', columnHint: 'set soft_labels.unlabeled.text_column' }));
  const texts: string[] = [];
  for await (const sentence of unlabeledSentences(root, sources, { lowercase: true, strip_accents: false }, new Set(heldOut), new Set(), stats)) texts.push(sentence.text);
  return { texts, stats };
}

describe('unlabelled text files, streamed', () => {
  it('reads CSV (quoted newlines, BOM, CRLF), JSON Lines and plain text, deduplicating across files', async () => {
    const { texts, stats } = await read({
      'a.csv': '\uFEFFid,text\r\n1,"Two\nlines"\r\n2,\r\n3,Plain one\r\n',
      'b.jsonl': '{"text": "plain ONE"}\n{"text": "From JSON", "id": 4}\n',
      'c.txt': 'A line of text\r\n\nheld out sentence\n',
    }, ['held out sentence']);
    expect(texts).toEqual(['Two\nlines', 'Plain one', 'From JSON', 'A line of text']);
    expect(stats).toEqual([
      { file: 'a.csv', rows: 3, kept: 2, emptyLines: [4], duplicates: 0, leaked: 0 },
      { file: 'b.jsonl', rows: 2, kept: 1, emptyLines: [], duplicates: 1, leaked: 0 },
      { file: 'c.txt', rows: 3, kept: 1, emptyLines: [2], duplicates: 0, leaked: 1 },
    ]);
  });

  it('decodes a character split between two read chunks, and names the line of a bad byte far into a file', async () => {
    // 64 KiB reads: put a 2-byte 'é' across the first boundary, and an invalid byte on line 5,002.
    const head = 'x'.repeat(65_535);
    const lines = Array.from({ length: 5_000 }, (_, i) => `sentence number ${i}`);
    const { texts } = await read({ 'long.txt': `${head}é\n${lines.join('\n')}\n` });
    expect(texts[0]).toBe(`${head}é`);
    expect(texts).toHaveLength(5_001);
    const bad = Buffer.concat([Buffer.from(`${head}é\n${lines.join('\n')}\n`), Buffer.from([0xff, 0x0a])]);
    await expect(read({ 'bad.txt': bad })).rejects.toThrow('bad.txt:5002: not valid UTF-8 text');
  });
});
