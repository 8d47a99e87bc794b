import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
const { AutoTokenizer } = await import('@huggingface/transformers');
const tk = await AutoTokenizer.from_pretrained('/work/main/models/encoder', { local_files_only: true });
const tok = tk._tokenizer;
const rows = parse(readFileSync('/work/main/data/sentiment-labelled-sentences.csv'), { columns: true });
const sents = rows.map((r) => r.text).slice(0, 1000);
const t = (f) => { const s = performance.now(); f(); return performance.now() - s; };
for (let i = 0; i < 20; i++) sents.forEach((x) => tk.encode(x, { add_special_tokens: false }));
const res = { encode: [], encode_text: [], split: [], norm: [], pre: [], model: [], ids: [] };
for (let k = 0; k < 15; k++) {
  res.encode.push(t(() => sents.forEach((x) => tk.encode(x, { add_special_tokens: false }))));
  let toks;
  res.encode_text.push(t(() => { toks = sents.map((x) => tok.encode_text(x)); }));
  res.ids.push(t(() => toks.forEach((x) => x.map((p) => tok.model.tokens_to_ids.get(p)))));
  res.split.push(t(() => sents.forEach((x) => tok.splitter_unnormalized.split(x))));
  let normed;
  res.norm.push(t(() => { normed = sents.map((x) => tok.normalizer(x)); }));
  let pre;
  res.pre.push(t(() => { pre = normed.map((x) => tok.pre_tokenizer(x)); }));
  res.model.push(t(() => pre.forEach((x) => tok.model(x))));
}
for (const [k, v] of Object.entries(res)) console.log(k, 'min', Math.min(...v).toFixed(2), 'mean', (v.reduce((a, b) => a + b) / v.length).toFixed(2));
console.log(tok.normalizer.constructor.name, tok.pre_tokenizer.constructor.name, tok.model.constructor.name);
