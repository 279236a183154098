// Rounding of Kubernetes quantities as the kubelet rounds them (Quantity.Value and
// MilliValue round up). Parsing is the spec's (spec/quantity.ts). A float is exact enough
// for sizes and resource values; the epsilon keeps 0.1+0.2-style noise from adding a unit.

export { parseQuantity } from '../spec/quantity.ts';

/** Quantity.Value(): whole base units, rounded up. */
export function wholeUnits(v: number): number {
  return Math.ceil(v - 1e-9);
}

/** Quantity.MilliValue(): thousandths, rounded up. */
export function milliUnits(v: number): number {
  return Math.ceil(v * 1000 - 1e-6);
}
