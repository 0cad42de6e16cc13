// A log download (ZIP or CSV of many sessions) that says what is coming before it starts:
// it asks the API for the export's summary (`summary=true`: sessions, lines, bytes, and the
// same 422 when a cap is passed), shows it or the refusal in plain words, then starts the
// download as a plain link (the API streams it; the page never holds the file).
import { useState } from "preact/hooks";
import { API, get, type ApiFailure } from "../api";
import { bytes, count } from "../format";
import { ErrorNote } from "./ErrorNote";

interface LogSummary {
  sessions: number;
  lines: number;
  bytes: number;
  max_bytes: number;
}

interface Props {
  /** The export's path under `/api/v1`, with its query (window or sessions, format). */
  path: string | null;
  label: string;
}

/** Starts a download of `url` as a link would. */
function startDownload(url: string) {
  const a = document.createElement("a");
  a.href = url;
  a.download = "";
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
}

export function LogDownload({ path, label }: Props) {
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const start = async () => {
    if (!path) return;
    setBusy(true);
    setError(null);
    setNote("Counting the logs…");
    try {
      const s = await get<LogSummary>(path + (path.includes("?") ? "&" : "?") + "summary=true");
      setNote(
        `Downloading the logs of ${count(s.sessions)} session${s.sessions === 1 ? "" : "s"}: ` +
          `${count(s.lines)} lines, ${bytes(s.bytes)} of text.`,
      );
      startDownload(API + path);
    } catch (e) {
      setNote(null);
      setError((e as ApiFailure).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="log-download">
      <button type="button" disabled={!path || busy} onClick={start}>
        {label}
      </button>
      {note && (
        <span class="muted" role="status">
          {note}
        </span>
      )}
      {error && <ErrorNote message={error} />}
    </span>
  );
}
