// Actions on the users selected in a table (the monitor's "select a user or more"): one
// confirmation for all, then one request per user, each with its own request id; the
// outcome per user is reported, failures named.
import { useState } from "preact/hooks";
import { newRequestId, post, type ApiFailure } from "../api";
import { Confirm } from "../components/Confirm";
import { href } from "../router";
import { ACTIONS } from "./Actions";

/** Every action but the credential update, which is one user's. */
const BULK = ACTIONS.filter((a) => a.name !== "update_credentials");

interface Props {
  users: string[];
  /** Called after the requests were sent (the table clears its selection). */
  onSent?: () => void;
}

/** An action's explanation for several users. */
export function forMany(explain: string): string {
  return explain
    .replace(/\bfor this user\b/g, "for each of these users")
    .replace(/\bthis user\b/g, "each of these users");
}

export function BulkActions({ users, onSent }: Props) {
  const [choice, setChoice] = useState("");
  const [pending, setPending] = useState<{ name: string; ids: Map<string, string> } | null>(null);
  const [busy, setBusy] = useState(false);
  const [report, setReport] = useState<string | null>(null);
  const action = BULK.find((a) => a.name === (pending?.name ?? choice));

  const open = () => {
    if (!choice || users.length === 0) return;
    setReport(null);
    setPending({ name: choice, ids: new Map(users.map((u) => [u, newRequestId()])) });
  };
  const confirm = async () => {
    if (!pending) return;
    setBusy(true);
    const failed: string[] = [];
    let published = 0;
    for (const [user, requestId] of pending.ids) {
      try {
        await post(`/users/${encodeURIComponent(user)}/actions`, { action: pending.name, request_id: requestId });
        published++;
      } catch (e) {
        failed.push(`${user}: ${(e as ApiFailure).message}`);
      }
    }
    setBusy(false);
    setPending(null);
    onSent?.();
    setReport(
      `${action?.label}: sent for ${published} of ${pending.ids.size} users; each user's page shows when the engine confirms it.` +
        (failed.length ? ` Failed: ${failed.join("; ")}` : ""),
    );
  };

  return (
    <>
      <label class="inline">
        Action{" "}
        <select value={choice} onChange={(e) => setChoice((e.target as HTMLSelectElement).value)}>
          <option value="">choose…</option>
          {BULK.map((a) => (
            <option value={a.name}>{a.label}</option>
          ))}
        </select>
      </label>
      <button type="button" disabled={!choice || users.length === 0} onClick={open}>
        Apply to {users.length} selected
      </button>
      {report && (
        <p role="status" class={report.includes("Failed") ? "error" : "ok"}>
          {report} <a href={href("audit")}>Audit trail</a>
        </p>
      )}
      {pending && action && (
        <Confirm
          title={`${action.label}: ${pending.ids.size} users?`}
          confirmLabel={`${action.label} ${pending.ids.size} users`}
          danger={action.danger}
          busy={busy}
          onConfirm={confirm}
          onCancel={() => setPending(null)}
        >
          <p>{forMany(action.explain)}</p>
          <p class="muted">{[...pending.ids.keys()].join(", ")}</p>
        </Confirm>
      )}
    </>
  );
}
