import type { TransferMeta } from '../train/soft-labels.js';
import { formatInteger, formatPercent } from './format.js';
import type { Table } from './report.js';

/** The transfer set's parts as metrics.json numbers (`transfer.*`), so `metrics show`/`diff` and the benches see them. */
export function transferMetrics(meta: TransferMeta): Record<string, number> {
  return {
    'transfer.labelled': meta.original,
    'transfer.unlabelled': meta.unlabeled,
    'transfer.augmented': meta.augmented,
    'transfer.words': meta.words,
    ...(meta.teacher_agreement === null ? {} : { 'transfer.teacher_agreement': meta.teacher_agreement }),
  };
}

/** What the student learnt from: a row per part of the transfer set, and per unlabelled file what was dropped. */
export function transferTable(meta: TransferMeta): Table {
  const total = meta.original + meta.unlabeled + meta.augmented + meta.words;
  const share = (n: number) => (total === 0 ? '—' : formatPercent(n / total));
  const rows = [
    ['Labelled training sentences', formatInteger(meta.original), share(meta.original)],
    ['Unlabelled sentences', formatInteger(meta.unlabeled), share(meta.unlabeled)],
    ...meta.sources.map((s) => [
      `  ${s.file}: ${formatInteger(s.rows)} rows; dropped ${formatInteger(s.empty)} empty, ${formatInteger(s.duplicates)} duplicates, ${formatInteger(s.leaked)} in validation/test`,
      formatInteger(s.kept),
      share(s.kept),
    ]),
    ['Augmented copies', formatInteger(meta.augmented), share(meta.augmented)],
    ['Vocabulary words', formatInteger(meta.words), share(meta.words)],
    ['Transfer set', formatInteger(total), share(total)],
  ];
  return { head: ['part', 'rows', 'share'], rows };
}

export function transferNote(meta: TransferMeta): string {
  const agreement = meta.teacher_agreement === null ? '' : ` The teacher's top class matches ${formatPercent(meta.teacher_agreement)} of the labels of the training sentences it was trained on.`;
  return `The rows the teacher labelled and the student learnt from (artifacts/soft-labels); only the labelled sentences carry a hard label.${agreement}`;
}
