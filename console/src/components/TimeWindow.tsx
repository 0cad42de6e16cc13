// The From/To window of the session and issue pages (default: the last 3 days to now). A To
// the person never picked means "now": it follows the clock on every refresh (the API is
// asked without `to`, so its own clock decides, and the box shows the time of the last
// refresh); a picked To stays. "To now" goes back to following. From, To and the page's other
// keys live in the address (Back restores them, a link opens them).
import { useEffect, useMemo, useState } from "preact/hooks";
import { localInput } from "../format";
import { parse } from "../router";
import { ErrorNote } from "./ErrorNote";
import { writeUrl } from "./DataTable";

const DAY = 86_400_000;

export interface TimeWindow {
  fromText: string;
  setFromText: (v: string) => void;
  /** The To shown: the picked one, or now (as of the last refresh). */
  toText: string;
  /** The To the person picked; null: now, following the clock. */
  toPicked: string | null;
  setToPicked: (v: string | null) => void;
  /** The API's `from` (and `to` when picked), in ms; null when not a window. */
  params: Record<string, string> | null;
  /** Why there is no window (a reversed or missing time), or null. */
  problem: string | null;
}

/** A moving "now" for a To left at its default, as a pure function (tested). */
export function windowParams(
  fromText: string,
  toPicked: string | null,
  nowMs: number,
): { params: Record<string, string> | null; problem: string | null } {
  const from = Date.parse(fromText);
  const to = toPicked === null ? nowMs : Date.parse(toPicked);
  if (Number.isNaN(from) || Number.isNaN(to)) return { params: null, problem: "Pick both a From and a To time." };
  if (from >= to) return { params: null, problem: "From must be before To." };
  // Not picked: no `to`, so the API's now applies on every request (and the view, hence the
  // page and the selection, stays the same while To moves).
  return { params: toPicked === null ? { from: String(from) } : { from: String(from), to: String(to) }, problem: null };
}

/** The window's state; `tick` changes on every refresh (moves a following To). */
export function useTimeWindow(tick: number): TimeWindow {
  const [q] = useState(() => parse(location.hash).query);
  const [fromText, setFromText] = useState(() => q.get("from") ?? localInput(Date.now() - 3 * DAY));
  const [toPicked, setToPicked] = useState<string | null>(() => q.get("to"));
  // The minute shown is the one now falls in, rounded up (datetime-local has minutes).
  const now = useMemo(() => Date.now(), [tick, toPicked]);
  const toText = toPicked ?? localInput(now + 60_000);
  const { params, problem } = useMemo(() => windowParams(fromText, toPicked, now + 60_000), [fromText, toPicked, now]);
  useEffect(() => writeUrl({ from: fromText, to: toPicked ?? "" }), [fromText, toPicked]);
  return { fromText, setFromText, toText, toPicked, setToPicked, params, problem };
}

/** The From/To form, "To now", and what is wrong with the window. */
export function WindowForm({ w }: { w: TimeWindow }) {
  return (
    <>
      <form class="window" onSubmit={(e) => e.preventDefault()} aria-label="Time window">
        <label>
          From{" "}
          <input
            type="datetime-local"
            value={w.fromText}
            onChange={(e) => w.setFromText((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          To{" "}
          <input
            type="datetime-local"
            value={w.toText}
            aria-describedby="to-follows"
            onChange={(e) => w.setToPicked((e.target as HTMLInputElement).value)}
          />
        </label>
        <span id="to-follows" class="muted" data-testid="to-follows">
          {w.toPicked === null ? "To: now (follows the clock)" : "To: as picked"}
        </span>
        <button type="button" onClick={() => w.setToPicked(null)}>
          To now
        </button>
      </form>
      {w.problem && <ErrorNote message={w.problem} />}
    </>
  );
}
