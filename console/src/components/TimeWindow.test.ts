import { expect, test } from "vitest";
import { pagerText } from "../format";
import { windowParams } from "./TimeWindow";

test("a To left at now is not sent: the API's clock moves it on every request", () => {
  const from = "2026-11-20T10:00";
  const now = Date.parse("2026-11-23T10:00");
  expect(windowParams(from, null, now)).toEqual({ params: { from: String(Date.parse(from)) }, problem: null });
  // The same view an hour later: nothing in the parameters changed (same page, same selection).
  expect(windowParams(from, null, now + 3_600_000).params).toEqual(windowParams(from, null, now).params);
});

test("a picked To stays as picked", () => {
  const w = windowParams("2026-11-20T10:00", "2026-11-21T08:30", Date.parse("2026-11-23T10:00"));
  expect(w.params).toEqual({
    from: String(Date.parse("2026-11-20T10:00")),
    to: String(Date.parse("2026-11-21T08:30")),
  });
});

test("a reversed or missing window says so", () => {
  expect(windowParams("2030-01-01T00:00", null, Date.parse("2026-11-23T10:00")).problem).toBe(
    "From must be before To.",
  );
  expect(windowParams("2026-11-20T10:00", "2026-11-19T10:00", 0).problem).toBe("From must be before To.");
  expect(windowParams("", null, 0).problem).toBe("Pick both a From and a To time.");
});

test("the pager says the total when the API does", () => {
  expect(pagerText(0, 50, 4339)).toBe("Rows 1–50 of 4,339");
  expect(pagerText(4300, 39, 4339)).toBe("Rows 4,301–4,339 of 4,339");
  expect(pagerText(0, 50)).toBe("Rows 1–50");
  expect(pagerText(0, 0, 0)).toBe("No rows");
  expect(pagerText(500, 0, 12)).toBe("No rows here (12 in all)");
});
