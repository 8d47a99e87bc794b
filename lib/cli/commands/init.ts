import type { Command } from 'commander';

interface InitFlags {
  data?: string;
  textColumn?: string;
  labelColumn?: string;
  unlabeled?: string;
  force?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('init')
    .description('Set up a project for your data: pipeline.yaml and params.yaml from the defaults, the data checked at once (without --data: the embedded example)')
    .argument('[dir]', 'project folder (created if missing)', '.')
    .option('--data <path>', 'your CSV or JSON Lines data set (copied into data/ when outside the project)')
    .option('--text-column <name>', 'column (CSV) or field (JSONL) holding the text (default: the default params\' data.text_column)')
    .option('--label-column <name>', 'column or field holding the class label (default: data.label_column)')
    .option('--unlabeled <path>', 'unlabelled text for the transfer set (CSV, JSON Lines or one sentence a line; text in --text-column), checked at once: soft_labels.unlabeled.path')
    .option('--force', 'overwrite an existing pipeline.yaml, params.yaml or data file')
    .option('--json', 'print what was written and the data summary as JSON on stdout')
    .action(async (dir: string, flags: InitFlags) => {
      const { initProject } = await import('../init-project.js');
      const result = await initProject({
        dir,
        data: flags.data ?? null,
        ...(flags.textColumn !== undefined ? { textColumn: flags.textColumn } : {}),
        ...(flags.labelColumn !== undefined ? { labelColumn: flags.labelColumn } : {}),
        ...(flags.unlabeled !== undefined ? { unlabeled: flags.unlabeled } : {}),
        force: flags.force === true,
      });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(result)}\n`);
        return;
      }
      const { data } = result;
      const pad = Math.max(...Object.keys(data.classes).map((label) => label.length));
      const lines = [
        `Wrote ${result.files.join(', ')} in ${result.dir}`,
        `${data.path}${data.copiedFrom ? ` (copied from ${data.copiedFrom})` : ''}: ${data.rows.toLocaleString('en-US')} rows, text in "${data.textColumn}", label in "${data.labelColumn}"${data.emptyRows > 0 ? `, ${data.emptyRows} empty row${data.emptyRows === 1 ? '' : 's'} to be dropped` : ''}`,
        ...(result.unlabeled
          ? [
              `${result.unlabeled.path}${result.unlabeled.copiedFrom ? ` (copied from ${result.unlabeled.copiedFrom})` : ''}: ${result.unlabeled.sentences.toLocaleString('en-US')} distinct unlabelled sentences for the transfer set (${result.unlabeled.rows.toLocaleString('en-US')} rows, ${result.unlabeled.emptyRows} empty, ${result.unlabeled.duplicates} duplicates)`,
            ]
          : []),
        `${Object.keys(data.classes).length} classes:`,
        ...Object.entries(data.classes).map(([label, n]) => `  ${label.padEnd(pad)}  ${n.toLocaleString('en-US').padStart(7)}  ${((n / data.rows) * 100).toFixed(1).padStart(5)} %`),
        ...result.warnings.map((warning) => `warning: ${warning}`),
        '',
        'Next:',
        ...result.next.map((command) => `  ${command}`),
        '',
      ];
      process.stdout.write(lines.join('\n'));
    });
}
