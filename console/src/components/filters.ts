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

/**
 * The filter for `text` typed into `column`'s box, or an error in plain words.
 * - text columns: `contains` (case-insensitive); `=x` exact, `!x` anything but x;
 * - numbers and times: `5` equals, `>5`, `>=5`, `<5`, `<=5`, `!=5`; times also as dates;
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
  const parsed = column.kind === "time" ? timeValue(value) : /^-?\d+$/.test(value) ? value : null;
  if (parsed === null) {
    return {
      error:
        column.kind === "time"
          ? `${column.name}: type a date like 2026-11-21 10:00, optionally after > or <`
          : `${column.name}: type a number, optionally after > >= < <= or !=`,
    };
  }
  return [op === "eq" ? column.name : `${column.name}.${op}`, parsed];
}
