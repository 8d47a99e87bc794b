/**
 * Numbers as a person reads them in the report: thousands separators, units, percentages. A
 * no-break space joins number and unit so a narrow table cell never splits them.
 */
const NBSP = '\u00a0';
const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumSignificantDigits: 3 });

/** 769346 → "769,346". */
export const formatInteger = (value: number) => integer.format(value);

/** 769346 → "769K" (axis ticks, legends). */
export const formatCompact = (value: number) => compact.format(value);

/** 0.8456 → "84.6 %"; a share under 1 % keeps two significant digits: 0.000196 → "0.020 %". */
export function formatPercent(share: number, digits = 1): string {
  const percent = share * 100;
  return `${percent > 0 && percent < 1 ? percent.toPrecision(2) : percent.toFixed(digits)}${NBSP}%`;
}

/** A difference of two shares, signed: 0.012 → "+1.2 points". */
export const formatPoints = (delta: number) => `${delta >= 0 ? '+' : '−'}${Math.abs(delta * 100).toFixed(1)}${NBSP}points`;

/** Milliseconds with the digits that matter: 0.2134 → "0.21 ms", 52.61 → "52.6 ms", 3664.58 → "3.66 s". */
export function formatDuration(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)}${NBSP}s`;
  if (ms >= 100) return `${integer.format(ms)}${NBSP}ms`;
  if (ms >= 10) return `${ms.toFixed(1)}${NBSP}ms`;
  return `${ms.toFixed(2)}${NBSP}ms`;
}

/** Bytes in decimal units: 205544 → "206 kB", 3077411 → "3.08 MB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toPrecision(3)}${NBSP}${units[unit]}`;
}

/** 4817.3 → "4,817/s". */
export const formatRate = (perSecond: number) => `${integer.format(perSecond)}/s`;

/** 6.73 → "6.7×". */
export const formatTimes = (factor: number) => `${factor.toFixed(1)}×`;

/** A number without a unit, 3 significant digits at most: 0.03125 → "0.0313". */
export const formatPlain = (value: number) => (Number.isInteger(value) ? integer.format(value) : String(Number(value.toPrecision(3))));
