/** The Pareto frontier of a cost/benefit scatter: which points no other point beats on both. */

export interface FrontierPoint {
  /** The cost: parameters, bytes, milliseconds (lower is better). */
  x: number;
  /** The benefit: accuracy (higher is better). */
  y: number;
}

/**
 * The indices of the non-dominated points, by ascending cost: no other point has a cost as low and
 * an accuracy as high with one of them strictly better. Of exact duplicates the first is kept;
 * points with a non-finite coordinate are left out.
 */
export function paretoFrontier(points: readonly FrontierPoint[]): number[] {
  const order = points
    .map((p, i) => ({ ...p, i }))
    .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
    .sort((a, b) => a.x - b.x || b.y - a.y || a.i - b.i);
  const kept: number[] = [];
  let best = -Infinity;
  // Cheapest first: a point joins the frontier only if it is more accurate than everything cheaper.
  for (const p of order) {
    if (p.y > best) {
      kept.push(p.i);
      best = p.y;
    }
  }
  return kept;
}
