// Turning what a person types in a column's search box into the API's list filters
// (`column.op=value`, see docs/api.md "Lists"). Pure, so the rules are easy to read.
import type { ColumnMeta } from "../api";

export type Filter = [param: string, value: string];

const OPS: [string, string][] = [
  [">=", "gte"],
  ["<=", "lte"],
  ["!=", "ne"],
  [">", "gt"],
  ["<", "lt"],
  ["=", "eq"],
  ["!", "ne"],
];

/** A time as ms: digits as they are, else a date like `2026-11-21 10:00` in local time. */
function timeValue(text: string): string | null {
  if (/^\d+$/.test(text)) return text;
  const ms = Date.parse(text.includes("T") || !text.includes(" ") ? text : text.replace(" ", "T"));
  return Number.isNaN(ms) ? null : String(ms);
}

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
};

/** A duration in ms from what a person types: `2 min 40 s`, `90s`, `1.5 h`, `1h 5m`; a bare
 * number is seconds (cells show durations in words, not milliseconds). */
export function durationValue(text: string): string | null {
  const t = text.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(t)) return String(Math.round(Number(t) * 1000));
  const parts = [...t.matchAll(/(\d+(?:\.\d+)?)\s*(ms|sec|s|min|m|hr|h)\b/g)];
  if (
    parts.length === 0 ||
    parts
      .map((p) => p[0])
      .join("")
      .replace(/\s/g, "") !== t.replace(/\s/g, "")
  )
    return null;
  return String(Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]], 0)));
}

/**
 * The filter for `text` typed into `column`'s box, or an error in plain words.
 * - text columns: `contains` (case-insensitive); `=x` exact, `!x` anything but x;
 * - numbers and times: `5` equals, `>5`, `>=5`, `<5`, `<=5`, `!=5`; times also as dates;
 * - durations: the same operators before `2 min 40 s`, `90 s`, `1 h` (a bare number: seconds);
 * - flags: `yes`/`no` (or 1/0).
 */
export function toFilter(column: ColumnMeta, text: string): Filter | { error: string } | null {
  const raw = text.trim();
  if (raw === "") return null;
  if (column.kind === "flag") {
    const v = /^(y|yes|1|true)$/i.test(raw) ? "1" : /^(n|no|0|false)$/i.test(raw) ? "0" : null;
    return v === null ? { error: `${column.name}: type yes or no` } : [column.name, v];
  }
  if (column.kind === "text") {
    if (raw.startsWith("=")) return [column.name, raw.slice(1)];
    if (raw.startsWith("!")) return [`${column.name}.ne`, raw.slice(1)];
    return [`${column.name}.contains`, raw];
  }
  if (column.kind === "array") return null;
  let op = "eq";
  let value = raw;
  for (const [prefix, name] of OPS) {
    if (raw.startsWith(prefix)) {
      op = name;
      value = raw.slice(prefix.length).trim();
      break;
    }
  }
  const isDuration = column.name.endsWith("duration_ms");
  const parsed =
    column.kind === "time"
      ? timeValue(value)
      : isDuration
        ? durationValue(value)
        : /^-?\d+$/.test(value)
          ? value
          : null;
  if (parsed === null) {
    return {
      error:
        column.kind === "time"
          ? `${column.name}: type a date like 2026-11-21 10:00, optionally after > or <`
          : isDuration
            ? `${column.name}: type a duration like 2 min 40 s, 90 s or 1 h, optionally after > >= < <= or !=`
            : `${column.name}: type a number, optionally after > >= < <= or !=`,
    };
  }
  return [op === "eq" ? column.name : `${column.name}.${op}`, parsed];
}
