// PLACEHOLDER — the tracking module replaces this: resolves the tracking target and asks /health.
export interface TrackingProbe {
  uri: string | null;
  reachable: boolean;
  detail: string;
}
export async function probeTracking(_root: string): Promise<TrackingProbe> {
  return { uri: null, reachable: false, detail: 'tracking not implemented yet' };
}
