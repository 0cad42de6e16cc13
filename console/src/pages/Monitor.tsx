// The monitor: a card per sync state with the users behind the chosen one below (Last sync
// failed first, as the seeds' monitor does; admins can act on selected users), the trend of
// sync outcomes, and how fresh the statistics are.
import { useEffect, useState } from "preact/hooks";
import { get, type ApiFailure, type Principal } from "../api";
import { DataTable } from "../components/DataTable";
import { ErrorNote } from "../components/ErrorNote";
import { TrendChart } from "../components/TrendChart";
import { count, time } from "../format";
import { href } from "../router";
import { BulkActions } from "./BulkActions";

interface Card {
  sync_state: string;
  users: number;
  no_recent_session_users: number;
}

interface Freshness {
  as_of_ms: number;
  newest_event_at_ms: number;
  computed_at_ms: number;
}

export const CARD_TITLES: Record<string, string> = {
  NeverSynced: "Never synced",
  InProgress: "Sync in progress",
  LastSyncFailed: "Last sync failed",
  LastSyncSucceeded: "Last sync succeeded",
  Stalled: "Stalled",
};

/** Why a user is on a card, and the columns that show it (the card's rule, docs/status-rules.md). */
export const CARD_VIEWS: Record<string, { why: string; columns: string[]; tone: string }> = {
  LastSyncFailed: {
    why: "Their latest finished sync (Skipped ones do not count) ended in Error or was Canceled: the outcome, when that sync started, and the latest error with when it happened (earlier than the outcome when the sync was Canceled).",
    columns: [
      "last_outcome",
      "user_id",
      "display_name",
      "last_outcome_started_at_ms",
      "last_error_category",
      "last_error_source",
      "last_error_message",
      "last_error_started_at_ms",
      "consecutive_failures",
      "mail_account",
      "crm_token_active",
      "mail_token_authorized",
    ],
    tone: "last_outcome",
  },
  LastSyncSucceeded: {
    why: "Their latest finished sync (Skipped ones do not count) succeeded.",
    columns: [
      "last_outcome",
      "user_id",
      "display_name",
      "mail_account",
      "last_session_started_at_ms",
      "last_session_duration_ms",
      "crm_token_active",
      "mail_token_authorized",
    ],
    tone: "last_outcome",
  },
  NeverSynced: {
    why: "No sync of theirs has ever succeeded: how many failed, and the latest error if any.",
    columns: [
      "user_id",
      "display_name",
      "mail_account",
      "consecutive_failures",
      "last_outcome",
      "last_error_message",
      "last_error_started_at_ms",
      "first_seen_ms",
      "crm_token_active",
      "mail_token_authorized",
    ],
    tone: "last_outcome",
  },
  InProgress: {
    why: "Their latest session has started and not ended yet.",
    columns: [
      "user_id",
      "display_name",
      "mail_account",
      "last_session_started_at_ms",
      "crm_token_active",
      "mail_token_authorized",
    ],
    tone: "",
  },
  Stalled: {
    why: "Their latest session started longer ago than the stall limit and never ended.",
    columns: [
      "user_id",
      "display_name",
      "mail_account",
      "last_session_started_at_ms",
      "crm_token_active",
      "mail_token_authorized",
    ],
    tone: "",
  },
};

/** No new event for this long: the page says the numbers may be out of date. */
export const STALE_AFTER_MS = 15 * 60_000;
/** How often the pages ask again (cards, tables, "statistics as of"). */
export const REFRESH_MS = 30_000;

/** A number that grows every `ms`: put it in an effect's dependencies to run it again. */
export function useTick(ms: number = REFRESH_MS): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), ms);
    return () => clearInterval(t);
  }, [ms]);
  return tick;
}

/** `4 min`, `2 h 05 min`, `3 days`. */
export function ago(ms: number): string {
  const min = Math.max(1, Math.round(ms / 60_000));
  if (min < 60) return `${min} min`;
  if (min < 48 * 60) return `${Math.floor(min / 60)} h ${String(min % 60).padStart(2, "0")} min`;
  return `${Math.floor(min / 1440)} days`;
}

/** "Statistics as of", asked again every 30 s, and a warning when events stopped arriving
 * (the aggregator's watermark moves on without events, so "as of" alone would read "now"). */
export function AsOf() {
  const tick = useTick();
  const [f, setF] = useState<Freshness | null>(null);
  const [checked, setChecked] = useState(0);
  useEffect(() => {
    get<Freshness>("/freshness")
      .then((x) => {
        setF(x);
        setChecked(Date.now());
      })
      .catch(() => setF(null));
  }, [tick]);
  if (!f) return null;
  const quiet = f.newest_event_at_ms ? checked - f.newest_event_at_ms : Infinity;
  return (
    <div class="freshness">
      <p class="muted as-of">
        Statistics as of <time data-testid="as-of">{f.as_of_ms ? time(f.as_of_ms) : "never"}</time>
        {f.newest_event_at_ms ? ` (newest event ${time(f.newest_event_at_ms)})` : ""}; checked{" "}
        <time data-testid="checked">{time(checked)}</time>, again every {REFRESH_MS / 1000} s
      </p>
      {quiet > STALE_AFTER_MS && (
        <p class="stale" role="status" data-testid="stale">
          {f.newest_event_at_ms
            ? `No new events for ${ago(quiet)}: the sync engines or the ingestion may have stopped, so these numbers may be out of date.`
            : "No events have arrived yet."}
        </p>
      )}
    </div>
  );
}

/** The monitor; the table shows `card`'s users, Last sync failed when none is chosen. */
export function Monitor({ card: chosen, me }: { card?: string; me: Principal }) {
  const card = chosen ?? "LastSyncFailed";
  const [cards, setCards] = useState<Card[] | null>(null);
  const [selected, setSelected] = useState<string[]>([]);
  const [sent, setSent] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const tick = useTick();
  useEffect(() => {
    get<{ cards: Card[] }>("/monitor/cards")
      .then((c) => {
        setCards(c.cards);
        setError(null);
      })
      .catch((e: ApiFailure) => setError(e.message));
  }, [tick]);
  return (
    <>
      <div class="page-head">
        <h1>Monitor</h1>
        <AsOf />
      </div>
      {error && <ErrorNote message={error} />}
      <ul class="cards" aria-label="Users by sync state">
        {(cards ?? []).map((c) => (
          <li>
            <a
              class={`card tone-${c.sync_state}${card === c.sync_state ? " current" : ""}`}
              href={href("monitor", c.sync_state)}
              aria-current={card === c.sync_state ? "page" : undefined}
              data-state={c.sync_state}
            >
              <span class="card-title">{CARD_TITLES[c.sync_state] ?? c.sync_state}</span>
              <span class="card-count" data-testid={`card-${c.sync_state}`}>
                {count(c.users)}
              </span>
              <span class="card-note">
                {c.no_recent_session_users > 0
                  ? `${count(c.no_recent_session_users)} without a recent session`
                  : "\u00a0"}
              </span>
            </a>
          </li>
        ))}
      </ul>
      {CARD_VIEWS[card] && (
        <p class="why" data-testid="card-why">
          {CARD_VIEWS[card].why}
        </p>
      )}
      <DataTable
        key={card}
        list="card_users"
        endpoint={`/monitor/cards/${encodeURIComponent(card)}/users`}
        title={`Users: ${CARD_TITLES[card] ?? card}`}
        storageKey={`columns.card_users.${card}`}
        defaultColumns={CARD_VIEWS[card]?.columns}
        toneColumn={CARD_VIEWS[card]?.tone || undefined}
        refresh={tick}
        urlState
        rowHref={(r) => href("users", String(r.user_id))}
        onSelect={me.role === "admin" ? setSelected : undefined}
        actions={
          me.role === "admin" ? <BulkActions users={selected} onSent={() => setSent((n) => n + 1)} /> : undefined
        }
        clearSelection={sent}
      />
      <TrendChart />
    </>
  );
}
