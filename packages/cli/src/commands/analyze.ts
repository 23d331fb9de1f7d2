// straitctl analyze -f FILE|DIR: offline validation with the same validator the control plane runs (@strait/api).
import { formatIssue, validateAll } from '@strait/api/resources';
import { readSources } from '../files.ts';
import type { Io } from '../output.ts';

export async function analyze(io: Io, files: string[]): Promise<number> {
  const sources = await readSources(files, io.stdin);
  const { resources, issues } = validateAll(new Map(sources.map((s) => [s.file, s.text])));
  if (issues.length > 0) {
    for (const issue of issues) io.err(`Error [${issue.error.code}] ${formatIssue(issue)}\n`);
    io.err(
      `\n${issues.length} error${issues.length === 1 ? '' : 's'} found in ${sources.length} file${sources.length === 1 ? '' : 's'}.\n`,
    );
    return 1;
  }
  io.out(
    `No validation issues found when analyzing ${sources.length} file${sources.length === 1 ? '' : 's'} (${resources.length} resources).\n`,
  );
  return 0;
}
