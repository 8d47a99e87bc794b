import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDataSource } from '../../lib/ml/data/data-source.js';

const defaults = { format: 'auto' as const, text_column: 'text', label_column: 'label' };

function dataFile(name: string, content: string | Buffer): { root: string; path: string } {
  const root = mkdtempSync(path.join(tmpdir(), 'kd-data-'));
  writeFileSync(path.join(root, name), content);
  return { root, path: name };
}

function read(name: string, content: string | Buffer, options: Partial<typeof defaults> = {}) {
  const file = dataFile(name, content);
  return readDataSource(file.root, { ...defaults, ...options, path: file.path });
}

describe('readDataSource', () => {
  it('reads a multi-class CSV with custom column names and quoted commas', () => {
    const csv = 'id,body,topic\n1,"Tore, Tore, Tore",sport\n2,Wahlen im Herbst,politik\n3,Un match nul,sport\n4,Neue Steuer,wirtschaft\n';
    const { rows } = read('news.csv', csv, { text_column: 'body', label_column: 'topic' });
    expect(rows.map((row) => [row.text, row.label, row.line])).toEqual([
      ['Tore, Tore, Tore', 'sport', 2],
      ['Wahlen im Herbst', 'politik', 3],
      ['Un match nul', 'sport', 4],
      ['Neue Steuer', 'wirtschaft', 5],
    ]);
  });

  it('reads JSON Lines and reports blank lines and empty texts by line', () => {
    const jsonl = '{"text":"gut","label":"pos"}\n\n{"text":"","label":"neg"}\n{"text":"mauvais","label":"neg"}\n';
    const source = read('d.jsonl', jsonl);
    expect(source.rows.map((row) => row.text)).toEqual(['gut', 'mauvais']);
    expect(source.emptyLines).toEqual([2, 3]);
  });

  it.each([
    ['a missing column', 'd.csv', 'review,label\ngood,pos\nbad,neg\n', /d\.csv:1: no column "text"/],
    ['an empty file', 'd.csv', '', /d\.csv: the data file is empty/],
    ['a header only', 'd.csv', 'text,label\n', /no data rows with text/],
    ['text everywhere empty', 'd.csv', 'text,label\n,pos\n,neg\n', /no data rows with text/],
    ['an empty label', 'd.csv', 'text,label\ngood,pos\nbad,\n', /d\.csv:3: empty label/],
    ['a single class', 'd.csv', 'text,label\ngood,pos\ngreat,pos\n', /only one class \("pos"\)/],
    ['malformed CSV', 'd.csv', 'text,label\ngood,pos\n"bad,neg\n', /d\.csv(:\d+)?: malformed CSV/],
    ['a ragged CSV row', 'd.csv', 'text,label\ngood,pos,extra\nbad,neg\n', /malformed CSV/],
    ['invalid JSON', 'd.jsonl', '{"text":"a","label":"x"}\n{oops\n', /d\.jsonl:2: not valid JSON/],
    ['a missing JSONL field', 'd.jsonl', '{"text":"a","label":"x"}\n{"text":"b"}\n', /d\.jsonl:2: no field "label"/],
  ])('rejects %s naming the file', (_case, name, content, message) => {
    expect(() => read(name, content)).toThrow(message);
  });

  it('rejects invalid UTF-8 naming the line', () => {
    const bytes = Buffer.concat([Buffer.from('text,label\ngood,pos\n'), Buffer.from([0x62, 0xe4, 0x64, 0x2c, 0x6e, 0x0a])]);
    expect(() => read('latin1.csv', bytes)).toThrow(/latin1\.csv:3: not valid UTF-8/);
  });

  it('names a missing data file', () => {
    expect(() => readDataSource(tmpdir(), { ...defaults, path: 'nope.csv' })).toThrow(/nope\.csv: cannot read data set/);
  });
});
