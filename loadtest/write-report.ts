// Writes a benchmark's three outputs into one folder: results.json (vLLM's keys per run), report.md and the
// SVG charts it links.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { charts } from './charts-svg.js';
import { reportMarkdown } from './report-md.js';
import type { BenchResults, RunWithDetail } from './results.js';

export interface WrittenReport {
  readonly files: readonly string[];
}

export function writeReport(
  outDir: string,
  results: BenchResults,
  runs: readonly RunWithDetail[],
  saveDetailed: boolean,
): WrittenReport {
  mkdirSync(outDir, { recursive: true });
  const figures = runs.length === 0 ? [] : charts(runs, results.settings.percentiles);
  const json = {
    ...results,
    runs: runs.map((r) => (saveDetailed ? { ...r.result, ...r.detail } : r.result)),
  };
  const files: string[] = [];
  const write = (name: string, text: string): void => {
    writeFileSync(join(outDir, name), text);
    files.push(join(outDir, name));
  };
  write('results.json', `${JSON.stringify(json, null, 2)}\n`);
  write('report.md', reportMarkdown(results, figures));
  for (const f of figures) write(f.file, f.svg);
  return { files };
}
