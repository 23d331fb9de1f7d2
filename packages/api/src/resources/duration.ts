// Istio/Go style durations ("100ms", "2s", "1m30s", "1.5h") turned into milliseconds.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

/** The pattern a duration string must match (one or more number+unit parts). */
export const DURATION_PATTERN = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;

/** Milliseconds for a duration string, rounded to a whole millisecond; throws on a malformed one. */
export function durationMs(text: string): number {
  if (!DURATION_PATTERN.test(text)) throw new Error(`"${text}" is not a duration like 100ms, 2s or 1m`);
  let total = 0;
  PART.lastIndex = 0;
  for (;;) {
    const match = PART.exec(text);
    if (!match) break;
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
  }
  return Math.round(total);
}
