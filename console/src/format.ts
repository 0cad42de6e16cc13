// Formatting of cells and the colours of statuses.

const pad = (n: number) => String(n).padStart(2, "0");

/** Local time, `2026-11-22 09:26:53`; empty for 0 (never). */
export function time(ms: unknown): string {
  const n = Number(ms);
  if (!n) return "";
  const d = new Date(n);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** `1 h 02 min`, `3 min 05 s`, `12.3 s`, `850 ms`. */
export function duration(ms: unknown): string {
  const n = Number(ms);
  if (!Number.isFinite(n) || n <= 0) return "";
  if (n < 1000) return `${n} ms`;
  if (n < 60_000) return `${(n / 1000).toFixed(1)} s`;
  const s = Math.round(n / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${pad(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${pad(Math.floor((s % 3600) / 60))} min`;
}

export function flag(v: unknown): string {
  return Number(v) === 1 ? "yes" : "no";
}

export function count(v: unknown): string {
  return Number(v).toLocaleString("en-US");
}

/** `850 B`, `12.3 kB`, `4.5 MB`, `1.2 GB` (powers of 1000, as file managers show). */
export function bytes(v: unknown): string {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 1000) return `${Number.isFinite(n) ? n : 0} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let x = n / 1000;
  let i = 0;
  while (x >= 1000 && i < units.length - 1) {
    x /= 1000;
    i++;
  }
  return `${x < 10 ? x.toFixed(1) : Math.round(x)} ${units[i]}`;
}

/** Value of a `datetime-local` input for `ms`. */
export function localInput(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T` + `${pad(d.getHours())}:${pad(d.getMinutes())}`
  );
}

/** The tone of a status value: good (green), bad (red), warn (amber) or none. */
export function tone(value: unknown): "good" | "bad" | "warn" | "" {
  switch (String(value)) {
    case "Enabled":
    case "Success":
    case "LastSyncSucceeded":
    case "published":
      return "good";
    case "Disabled":
    case "DisabledByAdmin":
    case "DisabledDueToError":
    case "Error":
    case "LastSyncFailed":
    case "failed":
      return "bad";
    case "Suspended":
    case "Stalled":
    case "Canceled":
      return "warn";
    default:
      return "";
  }
}

/** Words for a column name: `last_session_started_at_ms` -> `Last session started`. */
export function label(column: string): string {
  const words = column.replace(/_at_ms$|_ms$/, "").replace(/_/g, " ");
  const known: Record<string, string> = {
    "last outcome": "Last outcome",
    "consecutive failures": "Failed syncs in a row",
    "first seen": "First seen",
    "crm token active": "CRM token active",
    "mail token authorized": "Mail authorized",
    "crm user name": "CRM user",
    "user id": "User ID",
    "profile id": "Profile ID",
    "session id": "Session ID",
  };
  const text = known[words] ?? words.charAt(0).toUpperCase() + words.slice(1);
  return text.replace(/\bcrm\b/g, "CRM").replace(/ to /g, " → ");
}

/** Words for the codes of the event contract and the derived state (the API's values). */
export const WORDS: Record<string, string> = {
  NeverSynced: "Never synced",
  InProgress: "In progress",
  LastSyncFailed: "Last sync failed",
  LastSyncSucceeded: "Last sync succeeded",
  Stalled: "Stalled",
  DisabledDueToError: "Disabled due to an error",
  DisabledByAdmin: "Disabled by admin",
  MailToCrm: "Mail → CRM",
  CrmToMail: "CRM → mail",
  SyncApplication: "Sync application",
  MailServer: "Mail server",
  Crm: "CRM",
  ForcedByUser: "Forced by user",
  ForcedByAdmin: "Forced by admin",
  Office365: "Office 365",
  Dynamics365: "Dynamics 365",
  OracleCxSales: "Oracle CX Sales",
  ForceSync: "Force sync",
  DeleteFromMonitor: "Delete from monitor",
  UpdateCredentials: "Update credentials",
  force_sync: "Force sync",
  delete_from_monitor: "Delete from monitor",
  update_credentials: "Update credentials",
};

/** What error codes 0-3 of a sync issue mean (the event contract). */
export const ERROR_CODES: Record<string, string> = {
  "0": "object active / success",
  "1": "object locked / operation error",
  "2": "object already removed in storage",
  "3": "object inaccessible or updated prematurely",
};

/** A value in words: codes as words, other text as it is. */
export function words(v: unknown): string {
  const s = String(v ?? "");
  return WORDS[s] ?? s;
}

/** A cell as text by the column's kind. */
export function cell(kind: string, column: string, v: unknown): string {
  if (v === null || v === undefined) return "";
  if (kind === "time") return time(v);
  if (kind === "flag") return flag(v);
  if (column.endsWith("duration_ms")) return duration(v);
  if (column === "error_code") return ERROR_CODES[String(v)] ? `${v} · ${ERROR_CODES[String(v)]}` : String(v);
  if (Array.isArray(v)) return v.join(", ");
  if (kind === "text") return words(v);
  return String(v);
}

/** The pager's words: `Rows 1–50 of 4,339` (`of …` only when the API said the total). */
export function pagerText(offset: number, shown: number, total?: number): string {
  if (shown === 0) return total && total > 0 ? `No rows here (${count(total)} in all)` : "No rows";
  const range = `Rows ${count(offset + 1)}–${count(offset + shown)}`;
  return total === undefined ? range : `${range} of ${count(total)}`;
}
