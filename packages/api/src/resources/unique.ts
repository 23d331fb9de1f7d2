// Repeated names in a list, for the checks that say "expected a unique name".

/** Each item whose name an earlier item already used (items without a name are skipped). */
export function repeatedNames<T>(
  items: readonly T[],
  nameOf: (item: T) => string | undefined,
): { index: number; name: string }[] {
  const seen = new Set<string>();
  const repeated: { index: number; name: string }[] = [];
  items.forEach((item, index) => {
    const name = nameOf(item);
    if (name === undefined) return;
    if (seen.has(name)) repeated.push({ index, name });
    seen.add(name);
  });
  return repeated;
}
