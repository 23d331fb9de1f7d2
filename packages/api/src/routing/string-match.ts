// One compiled string matcher (exact / prefix / whole-string regex), used for paths, headers and query values.
import { Errors, StraitError } from '../errors.ts';
import type { StringMatch } from '../snapshot.ts';

export type StringMatchKind = 'exact' | 'prefix' | 'regex';

/**
 * Compiles a regular expression that must match a whole string (as Envoy's safe_regex does):
 * the source is wrapped as `^(?:...)$`. Throws STRAIT_SNAPSHOT_INVALID naming `where` on bad syntax.
 */
export function compileAnchoredRegex(source: string, where: string): RegExp {
  try {
    return new RegExp(`^(?:${source})$`);
  } catch (err) {
    throw new StraitError(
      Errors.SNAPSHOT_INVALID,
      `${where}: invalid regular expression "${source}": ${(err as Error).message}`,
    );
  }
}

/** A StringMatch made ready to test: the regex compiled once, the kind a plain field. */
export class CompiledStringMatch {
  readonly kind: StringMatchKind;
  readonly value: string;
  readonly regex: RegExp | undefined;

  constructor(match: StringMatch, where: string) {
    if ('exact' in match) {
      this.kind = 'exact';
      this.value = match.exact;
      this.regex = undefined;
    } else if ('prefix' in match) {
      this.kind = 'prefix';
      this.value = match.prefix;
      this.regex = undefined;
    } else {
      this.kind = 'regex';
      this.value = match.regex;
      this.regex = compileAnchoredRegex(match.regex, where);
    }
  }

  test(s: string): boolean {
    switch (this.kind) {
      case 'exact':
        return s === this.value;
      case 'prefix':
        return s.startsWith(this.value);
      default:
        return (this.regex as RegExp).test(s);
    }
  }
}
