// Number and time formats the console's pages share.

/** 0 → "0", 0.05 → "0.05", 12.345 → "12.3", 1234 → "1234". */
export function rate(n: number): string {
  if (n === 0) return '0';
  if (n < 0.1) return n.toFixed(2);
  if (n < 100) return n.toFixed(1);
  return Math.round(n).toString();
}

/** 0.1234 → "12.3%", 0 → "0%". */
export function percent(share: number): string {
  if (share === 0) return '0%';
  const p = share * 100;
  return `${p < 10 ? p.toFixed(1) : Math.round(p)}%`;
}

export function ms(n: number | undefined): string {
  if (n === undefined) return '–';
  return n < 10 ? `${n.toFixed(1)} ms` : `${Math.round(n)} ms`;
}

/** Local time of day, e.g. 14:03:21. */
export function clock(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString([], { hour12: false });
}

/** "in 11 h" or "3 min ago". */
export function relative(iso: string, now = Date.now()): string {
  const diff = new Date(iso).getTime() - now;
  const abs = Math.abs(diff);
  const amount =
    abs < 90_000
      ? `${Math.round(abs / 1000)} s`
      : abs < 5_400_000
        ? `${Math.round(abs / 60_000)} min`
        : `${Math.round(abs / 3_600_000)} h`;
  return diff >= 0 ? `in ${amount}` : `${amount} ago`;
}

export function shortVersion(v: string | undefined): string {
  return v ? v.slice(0, 8) : '–';
}
