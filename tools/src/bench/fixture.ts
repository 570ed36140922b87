import { prng } from '@cacpq/db';

/** Deterministic, realistic rows for the benchmarks' masters. */
export const CATEGORIES = ['Pumps', 'Valves', 'Motors', 'Sensors', 'PLCs', 'Drives', 'Enclosures', 'Cables', 'HMIs', 'Fittings'];
export const VENDORS = [
  'Grundfos',
  'Siemens',
  'Allen-Bradley',
  'ABB',
  'Schneider Electric',
  'Festo',
  'SMC',
  'Endress+Hauser',
  'Parker',
  'Omron',
];

export interface Random {
  rnd(): number;
  pick<T>(xs: readonly T[]): T;
  int(lo: number, hi: number): number;
  money(lo: number, hi: number): number;
}

export function random(seed: number): Random {
  const rnd = prng(seed);
  return {
    rnd,
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)],
    int: (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1)),
    money: (lo, hi) => Math.round((lo + rnd() * (hi - lo)) * 100) / 100,
  };
}

/** The data columns of component number `i` of a price list. */
export function componentRow(i: number, r: Random): Record<string, unknown> {
  const category = r.pick(CATEGORIES);
  const vendor = r.pick(VENDORS);
  const cost = r.money(5, 4000);
  return {
    sku: `${category.slice(0, 3).toUpperCase()}-${100_000 + i}`,
    name: `${vendor} ${category.replace(/s$/, '')} ${r.int(10, 990)}`,
    description: `${category.replace(/s$/, '')} for industrial process skids, ${r.pick(['stainless', 'cast iron', 'PVC', 'aluminium'])}`,
    category,
    vendor,
    manufacturer: vendor,
    partNumber: `${vendor.slice(0, 2).toUpperCase()}${r.int(100_000, 999_999)}`,
    unitCost: cost,
    listPrice: Math.round(cost * 1.4 * 100) / 100,
    unit: 'ea',
    leadTimeDays: r.int(1, 90),
    active: 1,
  };
}
