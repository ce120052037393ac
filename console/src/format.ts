/** Money from integer minor units per currency, and times in the branch's time zone. */
import { locale } from './i18n';

export interface ConsoleSettings {
  devTokens: boolean;
  temporalUiUrl: string | null;
  namespace: string;
  defaultTimeZone: string;
  branchTimeZones: Record<string, string>;
}

let settings: ConsoleSettings = { devTokens: false, temporalUiUrl: null, namespace: 'default', defaultTimeZone: 'Asia/Shanghai', branchTimeZones: {} };

export function applySettings(next: ConsoleSettings): void {
  settings = next;
}

export function consoleSettings(): ConsoleSettings {
  return settings;
}

export function timeZoneOf(branch: string | null | undefined): string {
  return (branch && settings.branchTimeZones[branch]) || settings.defaultTimeZone;
}

/** Digits of the currency's minor unit (CNY 2, JPY 0, KWD 3). */
export function minorDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

export function money(minor: number, currency: string): string {
  const digits = minorDigits(currency);
  try {
    return new Intl.NumberFormat(locale(), { style: 'currency', currency, minimumFractionDigits: digits, maximumFractionDigits: digits }).format(
      minor / 10 ** digits,
    );
  } catch {
    return `${(minor / 10 ** digits).toFixed(digits)} ${currency}`;
  }
}

/** "1,500.00" in major units → 150000 minor units; null when it is not such an amount. */
export function parseMoney(text: string, currency: string): number | null {
  const digits = minorDigits(currency);
  const cleaned = text.replace(/[,\s_]/g, '');
  const pattern = digits === 0 ? /^\d+$/ : new RegExp(`^\\d+(\\.\\d{1,${digits}})?$`);
  if (!pattern.test(cleaned)) return null;
  const [whole, fraction = ''] = cleaned.split('.');
  return Number(whole) * 10 ** digits + Number(fraction.padEnd(digits, '0') || '0');
}

export function dateTime(iso: string | null | undefined, branch?: string | null): string {
  if (!iso) return '—';
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short', timeZone: timeZoneOf(branch) }).format(at);
}

export function percent(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined) return '—';
  return new Intl.NumberFormat(locale(), { style: 'percent', maximumFractionDigits: 1 }).format(ratio);
}

/** Today's date (YYYY-MM-DD) in the branch's time zone. */
export function today(branch?: string | null, offsetDays = 0): string {
  const at = new Date(Date.now() + offsetDays * 86_400_000);
  return new Intl.DateTimeFormat('en-CA', { timeZone: timeZoneOf(branch), year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

/** Today's UTC date (YYYY-MM-DD): the reports' `asOf`, `from` and `to` are UTC calendar dates. */
export function utcToday(offsetDays = 0): string {
  return new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
}

/** A `datetime-local` value read in the branch's time zone → ISO instant. */
export function zonedToIso(local: string, branch?: string | null): string {
  const [date, time = '00:00'] = local.split('T');
  const [y, m, d] = (date ?? '').split('-').map(Number);
  const [hh, mm] = time.split(':').map(Number);
  const guess = Date.UTC(y ?? 1970, (m ?? 1) - 1, d ?? 1, hh ?? 0, mm ?? 0);
  return new Date(guess - zoneOffsetMs(guess, timeZoneOf(branch))).toISOString();
}

/** Now as a `datetime-local` value in the branch's time zone. */
export function nowLocal(branch?: string | null): string {
  const now = Date.now();
  return new Date(now + zoneOffsetMs(now, timeZoneOf(branch))).toISOString().slice(0, 16);
}

function zoneOffsetMs(utcMs: number, zone: string): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' })
      .formatToParts(new Date(utcMs))
      .map((p) => [p.type, Number(p.value)]),
  );
  const asUtc = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}
