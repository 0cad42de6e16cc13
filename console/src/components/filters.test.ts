import { describe, expect, test } from "vitest";
import type { ColumnMeta } from "../api";
import { toFilter } from "./filters";

const col = (name: string, kind: ColumnMeta["kind"]): ColumnMeta => ({ name, kind, operators: [] });

describe("toFilter", () => {
  test("text: contains by default, = exact, ! not", () => {
    const c = col("display_name", "text");
    expect(toFilter(c, "  smith ")).toEqual(["display_name.contains", "smith"]);
    expect(toFilter(c, "=Ann")).toEqual(["display_name", "Ann"]);
    expect(toFilter(c, "!Ann")).toEqual(["display_name.ne", "Ann"]);
    expect(toFilter(c, "   ")).toBeNull();
  });

  test("numbers: operators, or an error in plain words", () => {
    const c = col("changes", "int");
    expect(toFilter(c, "5")).toEqual(["changes", "5"]);
    expect(toFilter(c, ">= 60000")).toEqual(["changes.gte", "60000"]);
    expect(toFilter(c, ">5")).toEqual(["changes.gt", "5"]);
    expect(toFilter(c, "<=5")).toEqual(["changes.lte", "5"]);
    expect(toFilter(c, "<5")).toEqual(["changes.lt", "5"]);
    expect(toFilter(c, "!=5")).toEqual(["changes.ne", "5"]);
    expect(toFilter(c, "-3")).toEqual(["changes", "-3"]);
    expect(toFilter(c, "abc")).toEqual({ error: "changes: type a number, optionally after > >= < <= or !=" });
    expect(toFilter(c, ">1.5")).toHaveProperty("error");
  });

  test("durations: in the units the cells show; a bare number is seconds", () => {
    const c = col("duration_ms", "int");
    expect(toFilter(c, "> 2 min 40 s")).toEqual(["duration_ms.gt", "160000"]);
    expect(toFilter(c, ">=90s")).toEqual(["duration_ms.gte", "90000"]);
    expect(toFilter(c, "< 1.5 h")).toEqual(["duration_ms.lt", "5400000"]);
    expect(toFilter(c, "1h 5m")).toEqual(["duration_ms", "3900000"]);
    expect(toFilter(c, "850 ms")).toEqual(["duration_ms", "850"]);
    expect(toFilter(c, "30")).toEqual(["duration_ms", "30000"]);
    expect(toFilter(c, "2 weeks")).toHaveProperty("error");
    expect(toFilter(c, "abc")).toHaveProperty("error");
  });

  test("times: ms as they are, dates in local time", () => {
    const c = col("started_at_ms", "time");
    expect(toFilter(c, ">1700000000000")).toEqual(["started_at_ms.gt", "1700000000000"]);
    const local = new Date(2026, 10, 21, 10, 0).getTime();
    expect(toFilter(c, ">=2026-11-21 10:00")).toEqual(["started_at_ms.gte", String(local)]);
    expect(toFilter(c, "2026-11-21T10:00")).toEqual(["started_at_ms", String(local)]);
    expect(toFilter(c, "<yesterday")).toHaveProperty("error");
  });

  test("flags: yes/no words or 1/0", () => {
    const c = col("crm_token_active", "flag");
    for (const yes of ["yes", "Y", "1", "true"]) expect(toFilter(c, yes)).toEqual(["crm_token_active", "1"]);
    for (const no of ["no", "N", "0", "false"]) expect(toFilter(c, no)).toEqual(["crm_token_active", "0"]);
    expect(toFilter(c, "maybe")).toEqual({ error: "crm_token_active: type yes or no" });
  });

  test("arrays take no filter", () => {
    expect(toFilter(col("objects_type", "array"), "Email")).toBeNull();
  });
});
