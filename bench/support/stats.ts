// Figures the benchmarks print from their samples.

/** The p-th percentile of `xs` (the sample at that rank, not interpolated); NaN when there is none. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
