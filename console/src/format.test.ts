import { expect, test } from "vitest";
import { cell, duration, label, localInput, time, tone } from "./format";

test("times are local, 0 is never", () => {
  const ms = new Date(2026, 10, 22, 9, 5, 7).getTime();
  expect(time(ms)).toBe("2026-11-22 09:05:07");
  expect(time(0)).toBe("");
  expect(localInput(ms)).toBe("2026-11-22T09:05");
});

test("durations read like a person says them", () => {
  expect(duration(850)).toBe("850 ms");
  expect(duration(12_340)).toBe("12.3 s");
  expect(duration(185_000)).toBe("3 min 05 s");
  expect(duration(3_720_000)).toBe("1 h 02 min");
  expect(duration(0)).toBe("");
});

test("status colours: enabled green; disabled and disabled due to an error red", () => {
  expect(tone("Enabled")).toBe("good");
  expect(tone("Disabled")).toBe("bad");
  expect(tone("DisabledDueToError")).toBe("bad");
  expect(tone("Error")).toBe("bad");
  expect(tone("Suspended")).toBe("warn");
  expect(tone("Skipped")).toBe("");
});

test("labels and cells", () => {
  expect(label("last_session_started_at_ms")).toBe("Last session started");
  expect(label("objects_mail_to_crm_created")).toBe("Objects mail → CRM created");
  expect(label("crm_token_active")).toBe("CRM token active");
  expect(cell("flag", "crm_token_active", 1)).toBe("yes");
  expect(cell("int", "duration_ms", 61_000)).toBe("1 min 01 s");
  expect(cell("array", "objects_type", ["Email", "Task"])).toBe("Email, Task");
  expect(cell("text", "x", null)).toBe("");
});
