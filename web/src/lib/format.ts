// Parsing the API's timestamps and formatting numbers for people.

/**
 * Epoch milliseconds (fractional, keeping the microseconds) of an RFC 3339 timestamp.
 * The server writes `2026-11-25T10:00:00.123456Z`; Date.parse would drop the last three
 * digits, and sub-millisecond spans matter in a waterfall.
 */
export function parseTs(s: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(s);
  if (!m) return Date.parse(s);
  const whole = Date.parse(m[1]! + m[3]!);
  return m[2] ? whole + Number(m[2]) * 1000 : whole;
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  if (ms < 0) ms = 0;
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(2) : s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.floor(s - m * 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m - h * 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** "+1.25 s" — an offset from the start of a session. */
export function formatOffset(ms: number): string {
  return `+${formatDuration(ms)}`;
}

export function formatCost(usd: number | null | undefined): string {
  if (usd === null || usd === undefined) return "—";
  if (usd === 0) return "$0";
  if (usd < 0.01) return `$${usd.toPrecision(2)}`;
  if (usd < 100) return `$${usd.toFixed(usd < 1 ? 4 : 2)}`;
  return `$${Math.round(usd).toLocaleString("en-US")}`;
}

export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined) return "—";
  if (Math.abs(n) < 1000) return String(n);
  if (Math.abs(n) < 1e6) return `${(n / 1e3).toFixed(n < 1e4 ? 1 : 0)}k`;
  if (Math.abs(n) < 1e9) return `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)}M`;
  return `${(n / 1e9).toFixed(1)}B`;
}

export function formatPercent(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "—";
  return `${(x * 100).toFixed(x < 0.1 && x > 0 ? 1 : 0)}%`;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** Local time: "Dec 1, 21:05:03" (with the year when it is not this year). */
export function formatTime(s: string | null | undefined, now = new Date()): string {
  if (!s) return "—";
  const d = new Date(parseTs(s));
  if (Number.isNaN(d.getTime())) return s;
  const month = d.toLocaleString("en-US", { month: "short" });
  const year = d.getFullYear() === now.getFullYear() ? "" : ` ${d.getFullYear()}`;
  return `${month} ${d.getDate()}${year}, ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** "3 min ago" for recent moments, else the local time. */
export function formatAgo(s: string | null | undefined, now = Date.now()): string {
  if (!s) return "—";
  const diff = now - parseTs(s);
  if (diff < 0 || diff > 24 * 3600e3) return formatTime(s);
  if (diff < 60e3) return `${Math.max(1, Math.round(diff / 1e3))} s ago`;
  if (diff < 3600e3) return `${Math.round(diff / 60e3)} min ago`;
  return `${Math.round(diff / 3600e3)} h ago`;
}

/** Value for <input type="datetime-local"> from an ISO string (local time), and back. */
export function toLocalInput(iso: string): string {
  const t = parseTs(iso);
  if (Number.isNaN(t)) return "";
  const d = new Date(t);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fromLocalInput(v: string): string {
  if (!v) return "";
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString();
}

/** A bucket size in words: "1 min", "10 min", "1 h", "4 h", "1 d". */
export function formatStep(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}
