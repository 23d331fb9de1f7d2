// The documents of a resource-API request body: YAML or JSON resources, or `{ "sources": [...] }` naming the
// user's own files. Pure, so that it can run on a worker thread (see parse-worker.ts).
import { Errors, type SourcesRequest, StraitError } from '@strait/api';
import { parseDocuments } from '@strait/api/resources';

export type ParsedDocuments = ReturnType<typeof parseDocuments>;

/**
 * The documents of a request body: YAML or JSON resources (named `source`, from the `x-strait-source`
 * header), or `{ "sources": [{ "file": "a.yaml", "text": "..." }] }` so errors name the user's own files.
 */
export function documentsOf(text: string, source: string): ParsedDocuments {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') && trimmed.includes('"sources"')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const sources = (parsed as Partial<SourcesRequest> | undefined)?.sources as unknown;
    if (Array.isArray(sources)) {
      const out: ParsedDocuments = { docs: [], issues: [] };
      for (const entry of sources as { file?: unknown; text?: unknown }[]) {
        if (typeof entry?.file !== 'string' || typeof entry.text !== 'string')
          throw new StraitError(Errors.BAD_REQUEST, 'expected sources: [{ file, text }]');
        const one = parseDocuments(entry.text, entry.file.slice(0, 200));
        out.docs.push(...one.docs);
        out.issues.push(...one.issues);
      }
      return out;
    }
  }
  return parseDocuments(text, source);
}
