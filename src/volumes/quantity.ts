// Kubernetes resource quantities ("500m", "128Mi", "1e3", 2) as plain numbers in base units.
//
// Only what volumes and env need: emptyDir sizeLimit (bytes), resourceFieldRef values and
// divisors. A float is exact enough here: the results are rounded up to whole units the way
// the kubelet rounds (Quantity.Value / MilliValue round up).

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

/** The value of a quantity in base units (bytes, cores), or undefined when it is not one. */
export function parseQuantity(q: string | number): number | undefined {
  if (typeof q === 'number') return Number.isFinite(q) ? q : undefined;
  if (typeof q !== 'string') return undefined;
  const m = QUANTITY.exec(q.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const suffix = m[2] ?? '';
  if (suffix in BINARY) return n * BINARY[suffix];
  if (suffix in DECIMAL) return n * DECIMAL[suffix];
  return n * 10 ** Number(suffix.slice(1)); // e3, E-2
}

/** Quantity.Value(): whole base units, rounded up. */
export function wholeUnits(v: number): number {
  return Math.ceil(v - 1e-9);
}

/** Quantity.MilliValue(): thousandths, rounded up. */
export function milliUnits(v: number): number {
  return Math.ceil(v * 1000 - 1e-6);
}
