import { Project } from './harness.js';

/**
 * A distillation-shaped shell pipeline: `teacher` (params teacher.*) → `student` (params
 * student.*), which writes metrics.json with `student.accuracy` computed from its params, so a
 * sweep over student keys has one best trial. Every command appends its name to ran.log (no
 * declared out; trials link it from the project, so it counts runs across all of them).
 * `studentCmd` replaces the student's first command (a failure, a long sleep). `tradeoff` adds
 * what the evaluate stage writes for the trade-off charts: student.params (1000 × temperature),
 * student.latency_p50_ms (10 × alpha) and a fixed teacher.
 */
export function distillProject(options: { tracking?: string; studentCmd?: string; tradeoff?: boolean } = {}): Project {
  const costs = options.tradeoff ? `, params: \${student.temperature} * 1000, latency_p50_ms: \${student.alpha} * 10}, teacher: {accuracy: 0.97, params: 1e6, latency_p50_ms: 40` : '';
  return new Project({
    'params.yaml': `# tiny distillation
teacher:
  epochs: 1 # teacher epochs
student:
  temperature: 2 # soft-target temperature
  alpha: 0.5
unused: 1
`,
    'in.txt': 'data\n',
    // Exists before any trial, so that every trial's workspace links it.
    'ran.log': '',
    'pipeline.yaml': `stages:
  teacher:
    cmd: echo teacher >> ran.log && sleep 0.5 && cat in.txt > teacher.txt
    deps: [in.txt]
    params: [teacher]
    outs: [teacher.txt]
  student:
    cmd: >-
      ${options.studentCmd ?? 'true'} && echo student >> ran.log && cat teacher.txt > student.txt &&
      node -e "require('fs').writeFileSync('metrics.json', JSON.stringify({student: {accuracy: 1 - Math.abs(\${student.temperature} - 4) / 10 - Math.abs(\${student.alpha} - 0.7)${costs}}}))"
    deps: [teacher.txt]
    params: [student]
    outs: [student.txt]
    metrics: [metrics.json]
${options.tracking ? `tracking:\n  uri: ${options.tracking}\n  experiment: sweep-test\n` : ''}`,
  });
}

/** The accuracy the student stage writes for these params. */
export const expectedAccuracy = (temperature: number, alpha: number) => 1 - Math.abs(temperature - 4) / 10 - Math.abs(alpha - 0.7);
