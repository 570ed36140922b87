/**
 * Number formats: literal text with `{YYYY}` or `{YY}` (the year; the sequence restarts each
 * year) and exactly one `{SEQ}` or `{SEQ:n}` (the sequence, zero-padded to n digits).
 * `Q{YYYY}-{SEQ:4}` → `Q2026-0042`.
 */
export interface NumberFormat {
  source: string;
  yearly: boolean;
  render(year: number, sequence: number): string;
}

const TOKEN = /\{(YYYY|YY|SEQ(?::(\d))?)\}/g;

export function parseNumberFormat(source: string): NumberFormat | string {
  if (source.length < 5 || source.length > 40) return 'must be 5 to 40 characters long';
  const seqTokens = [...source.matchAll(/\{SEQ(?::(\d))?\}/g)];
  if (seqTokens.length !== 1) return 'must contain {SEQ} or {SEQ:n} exactly once';
  const literal = source.replace(TOKEN, '');
  if (/[{}]/.test(literal)) return 'may only use the placeholders {YYYY}, {YY} and {SEQ:n}';
  if (!/^[A-Za-z0-9._/-]*$/.test(literal)) return 'may only contain letters, digits and . _ / - around the placeholders';
  const pad = seqTokens[0][1] ? Number(seqTokens[0][1]) : 1;
  if (pad < 1) return '{SEQ:n} needs n from 1 to 9';
  const yearly = /\{YYYY\}|\{YY\}/.test(source);
  return {
    source,
    yearly,
    render: (year, sequence) =>
      source.replace(TOKEN, (token) => {
        if (token === '{YYYY}') return String(year);
        if (token === '{YY}') return String(year % 100).padStart(2, '0');
        return String(sequence).padStart(pad, '0');
      }),
  };
}
