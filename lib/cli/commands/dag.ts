import type { Command } from 'commander';
import { KdError } from '../../errors.js';

export function register(program: Command): void {
  program
    .command('dag')
    .description('The stage graph (outs → deps): a text list by default, or JSON, Graphviz dot or Mermaid')
    .option('--json', 'print {"stages":[{name,desc,upstream}],"edges":[{from,to}]}')
    .option('--dot', 'print Graphviz dot')
    .option('--mermaid', 'print a Mermaid flowchart')
    .action(async (opts: { json?: boolean; dot?: boolean; mermaid?: boolean }) => {
      if ([opts.json, opts.dot, opts.mermaid].filter(Boolean).length > 1) throw new KdError('dag: choose one of --json, --dot, --mermaid');
      const { findProjectRoot, loadPipeline } = await import('../../pipeline/spec.js');
      const { buildGraph } = await import('../../pipeline/graph.js');
      const graph = buildGraph(loadPipeline(findProjectRoot(process.cwd())));
      const edges = graph.order.flatMap((to) => [...(graph.upstream.get(to) ?? [])].map((from) => ({ from, to })));
      const quote = (name: string) => JSON.stringify(name);
      let text: string;
      if (opts.json) {
        const stages = graph.order.map((name) => ({ name, desc: graph.stages.get(name)?.desc ?? null, upstream: [...(graph.upstream.get(name) ?? [])] }));
        text = JSON.stringify({ stages, edges });
      } else if (opts.dot) {
        text = ['digraph pipeline {', ...graph.order.map((n) => `  ${quote(n)};`), ...edges.map((e) => `  ${quote(e.from)} -> ${quote(e.to)};`), '}'].join('\n');
      } else if (opts.mermaid) {
        const id = new Map(graph.order.map((name, i) => [name, `s${i}`]));
        text = ['flowchart TD', ...graph.order.map((n) => `  ${id.get(n)}[${quote(n)}]`), ...edges.map((e) => `  ${id.get(e.from)} --> ${id.get(e.to)}`)].join('\n');
      } else {
        text = graph.order
          .map((name) => {
            const ups = [...(graph.upstream.get(name) ?? [])];
            return ups.length > 0 ? `${name}  ← ${ups.join(', ')}` : name;
          })
          .join('\n');
      }
      process.stdout.write(`${text}\n`);
    });
}
