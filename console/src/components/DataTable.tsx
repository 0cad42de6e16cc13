// A list of the API as a table: a search box per column, a status filter menu, sorting by
// header, a column chooser, paging, row colours, optional row selection, and an export link
// that asks the API for exactly the rows and columns on screen (every page) as CSV.
import type { ComponentChildren } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { API, ApiFailure, get, listMeta, withQuery, type ColumnMeta, type ListMeta, type Page, type Row } from "../api";
import { cell, label, pagerText, tone, words } from "../format";
import { ColumnChooser } from "./ColumnChooser";
import { toFilter } from "./filters";
import { parse } from "../router";
import { ErrorNote } from "./ErrorNote";

export interface DataTableProps {
  /** The list's name in `GET /lists` (`users`, `sessions`, ...). */
  list: string;
  /** The API path of the list, e.g. `/profiles/p1/users`. */
  endpoint: string;
  title: string;
  /** Where the chosen columns are remembered. */
  storageKey: string;
  /** The columns shown until the person chooses (default: the list's). */
  defaultColumns?: string[];
  /** Parameters always sent (a time window). */
  fixed?: Record<string, string>;
  /** The column of the status filter menu, and its choices. */
  statusColumn?: string;
  statusOptions?: string[];
  /** The column whose value colours the row. */
  toneColumn?: string;
  /** A link for a row (on its key cell). */
  rowHref?: (row: Row) => string | undefined;
  /** Row selection: the keys selected, reported on every change. */
  onSelect?: (keys: string[]) => void;
  /** A row opened (click or Enter on its key cell) when the table has no links. */
  onOpen?: (row: Row) => void;
  /** Extra buttons beside the export. */
  actions?: ComponentChildren;
  pageSize?: number;
  /** A number that changes when the page should be asked again (the same view, page and
   * selection). */
  refresh?: number;
  /** A cell's text instead of the column's formatting (undefined: the usual). */
  cellText?: (column: string, row: Row) => string | undefined;
  /** A number that changes when the selection should be cleared (after a bulk action). */
  clearSelection?: number;
  /** Keep the view (searches, status, sort, page) in the address: Back restores it and a
   * link opens it. One table per page. */
  urlState?: boolean;
}

/** The view kept in the address: `f.<column>` searches, `status`, `sort`, `offset`. */
interface UrlView {
  search: Record<string, string>;
  status: string;
  sort: string;
  offset: number;
}

function readUrlView(): UrlView {
  const q = parse(location.hash).query;
  const search: Record<string, string> = {};
  q.forEach((v, k) => {
    if (k.startsWith("f.")) search[k.slice(2)] = v;
  });
  return { search, status: q.get("status") ?? "", sort: q.get("sort") ?? "", offset: Number(q.get("offset")) || 0 };
}

/** Rewrites the address's query with `set` (keys with "" removed; `f.*` replaced whole),
 * keeping the other keys (a page's own, e.g. From/To), without a new history entry. */
export function writeUrl(set: Record<string, string>, replacePrefix?: string) {
  const [path, search = ""] = location.hash.split("?", 2);
  const q = new URLSearchParams(search);
  if (replacePrefix) [...q.keys()].filter((k) => k.startsWith(replacePrefix)).forEach((k) => q.delete(k));
  for (const [k, v] of Object.entries(set)) {
    if (v === "") q.delete(k);
    else q.set(k, v);
  }
  const text = q.toString();
  const next = (path || "#/") + (text ? `?${text}` : "");
  if (next !== location.hash) history.replaceState(history.state, "", next);
}

function savedColumns(key: string, meta: ListMeta, defaults?: string[]): string[] {
  try {
    const saved = JSON.parse(localStorage.getItem(key) ?? "null");
    if (Array.isArray(saved)) {
      const valid = saved.filter((c) => meta.columns.some((m) => m.name === c));
      if (valid.length > 0) return valid;
    }
  } catch {
    // Ignore a damaged entry.
  }
  return defaults ?? meta.default_columns;
}

export function DataTable(props: DataTableProps) {
  const [meta, setMeta] = useState<ListMeta | null>(null);
  const [columns, setColumns] = useState<string[]>([]);
  const [initial] = useState<UrlView>(() =>
    props.urlState ? readUrlView() : { search: {}, status: "", sort: "", offset: 0 },
  );
  const [search, setSearch] = useState<Record<string, string>>(initial.search);
  const [typed, setTyped] = useState<Record<string, string>>(initial.search);
  const [status, setStatus] = useState(initial.status);
  const [sort, setSort] = useState(initial.sort);
  const [offset, setOffset] = useState(initial.offset);
  const [page, setPage] = useState<Page | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const limit = props.pageSize ?? 50;

  useEffect(() => {
    listMeta()
      .then((all) => {
        const m = all[props.list];
        setMeta(m);
        setColumns(savedColumns(props.storageKey, m, props.defaultColumns));
      })
      .catch((e: ApiFailure) => setError(e.message));
  }, [props.list, props.storageKey]);

  // Typing settles for 300 ms before the list is asked again.
  useEffect(() => {
    const t = setTimeout(() => {
      // Only a changed search is a new view (a new object alone would reload the page and
      // drop the selection).
      if (JSON.stringify(typed) === JSON.stringify(search)) return;
      setSearch(typed);
      setOffset(0);
    }, 300);
    return () => clearTimeout(t);
  }, [typed]);

  const byName = useMemo(() => new Map((meta?.columns ?? []).map((c) => [c.name, c])), [meta]);

  // The query of the current view, without paging: the page and the export both use it.
  const view = useMemo(() => {
    const params: Record<string, string> = { ...(props.fixed ?? {}) };
    const problems: string[] = [];
    for (const [name, text] of Object.entries(search)) {
      const column = byName.get(name);
      if (!column) continue;
      const f = toFilter(column, text);
      if (f === null) continue;
      if ("error" in f) problems.push(f.error);
      else params[f[0]] = f[1];
    }
    if (status && props.statusColumn) params[props.statusColumn] = status;
    if (columns.length > 0) params.columns = columns.join(",");
    if (sort) params.sort = sort;
    return { params, problems };
  }, [search, status, sort, columns, props.fixed, props.statusColumn, byName]);

  useEffect(() => {
    if (!meta || columns.length === 0) return;
    if (view.problems.length > 0) {
      // No rows of another view under the error.
      setError(view.problems.join("; "));
      setPage(null);
      return;
    }
    let live = true;
    setLoading(true);
    get<Page>(withQuery(props.endpoint, { ...view.params, limit, offset, total: "true" }))
      .then((p) => {
        if (!live) return;
        setPage(p);
        setError(null);
      })
      .catch((e: ApiFailure) => {
        if (!live) return;
        setError(e.message);
        setPage(null);
      })
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [meta, view, offset, props.endpoint, limit, props.refresh, props.clearSelection]);

  // A new view (filters, columns, order, window) starts on its first page with nothing
  // selected (the first one keeps the page the address asked for).
  const viewKey = props.endpoint + "?" + JSON.stringify(view.params);
  const [firstView, setFirstView] = useState<string | null>(null);
  useEffect(() => {
    if (firstView === null && columns.length > 0) {
      setFirstView(viewKey);
      return;
    }
    if (firstView === null || firstView === viewKey) return;
    setFirstView("");
    setSelected(new Set());
    setOffset(0);
  }, [viewKey]);

  // The view in the address.
  useEffect(() => {
    if (!props.urlState) return;
    const set: Record<string, string> = { status, sort, offset: offset ? String(offset) : "" };
    for (const [k, v] of Object.entries(search)) if (v.trim() !== "") set[`f.${k}`] = v;
    writeUrl(set, "f.");
  }, [search, status, sort, offset, props.urlState]);
  useEffect(() => props.onSelect?.([...selected]), [selected]);
  useEffect(() => {
    if (props.clearSelection) setSelected(new Set());
  }, [props.clearSelection]);

  if (!meta) return error ? <ErrorNote message={error} /> : <p class="muted">Loading…</p>;

  const key = meta.key;
  const shown = columns.map((c) => byName.get(c)).filter((c): c is ColumnMeta => !!c);
  const exportHref = API + withQuery(props.endpoint, { ...view.params, format: "csv", bom: "true" });
  const readableHref =
    API + withQuery(props.endpoint, { ...view.params, format: "csv", bom: "true", readable: "true" });
  const rows = page?.rows ?? [];

  const chooseColumns = (next: string[]) => {
    setColumns(next);
    localStorage.setItem(props.storageKey, JSON.stringify(next));
  };
  const toggleSort = (name: string) => {
    setSort(sort === name ? `-${name}` : name);
    setOffset(0);
  };
  const toggleRow = (k: string) => {
    const next = new Set(selected);
    if (next.has(k)) next.delete(k);
    else next.add(k);
    setSelected(next);
  };
  const allOnPage = rows.length > 0 && rows.every((r) => selected.has(String(r[key])));

  return (
    <section class="table-block" aria-label={props.title}>
      <div class="toolbar">
        <h2>{props.title}</h2>
        {props.statusColumn && (
          <label class="inline">
            {label(props.statusColumn)}{" "}
            <select
              value={status}
              onChange={(e) => {
                setStatus((e.target as HTMLSelectElement).value);
                setOffset(0);
              }}
            >
              <option value="">any</option>
              {(props.statusOptions ?? []).map((o) => (
                <option value={o}>{words(o)}</option>
              ))}
            </select>
          </label>
        )}
        <ColumnChooser all={meta.columns} chosen={columns} onChange={chooseColumns} />
        {props.actions}
        {/* A view with a bad search exports nothing (never the view without that search). */}
        <a
          class={`button${view.problems.length ? " disabled" : ""}`}
          href={view.problems.length ? undefined : readableHref}
          aria-disabled={view.problems.length > 0}
          download
          title="Times, durations, yes/no and headers in words"
        >
          Export CSV for Excel
        </a>
        <a
          class={`button${view.problems.length ? " disabled" : ""}`}
          href={view.problems.length ? undefined : exportHref}
          aria-disabled={view.problems.length > 0}
          download
          title="The API's values: ms times, codes"
        >
          Export CSV (raw)
        </a>
      </div>
      {error && <ErrorNote message={error} />}
      <div class="scroll" role="region" aria-label={`${props.title} table`} tabIndex={0}>
        <table aria-busy={loading}>
          <thead>
            <tr>
              {props.onSelect && (
                <th class="pick">
                  <input
                    type="checkbox"
                    aria-label="Select every row on this page"
                    checked={allOnPage}
                    onChange={() => {
                      const next = new Set(selected);
                      rows.forEach((r) => (allOnPage ? next.delete(String(r[key])) : next.add(String(r[key]))));
                      setSelected(next);
                    }}
                  />
                </th>
              )}
              {shown.map((c) => (
                <th aria-sort={sort === c.name ? "ascending" : sort === `-${c.name}` ? "descending" : undefined}>
                  {c.kind === "array" ? (
                    label(c.name)
                  ) : (
                    <button class="sort" type="button" onClick={() => toggleSort(c.name)}>
                      {label(c.name)}
                      <span aria-hidden="true">{sort === c.name ? " ▲" : sort === `-${c.name}` ? " ▼" : ""}</span>
                    </button>
                  )}
                </th>
              ))}
            </tr>
            <tr class="search">
              {props.onSelect && <th />}
              {shown.map((c) => (
                <th>
                  {c.kind !== "array" && (
                    <input
                      type="search"
                      aria-label={`Search ${label(c.name)}`}
                      placeholder={
                        c.kind === "text"
                          ? "contains…"
                          : c.kind === "flag"
                            ? "yes/no"
                            : c.name.endsWith("duration_ms")
                              ? "> 2 min"
                              : "> < ="
                      }
                      value={typed[c.name] ?? ""}
                      onInput={(e) => setTyped({ ...typed, [c.name]: (e.target as HTMLInputElement).value })}
                    />
                  )}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => {
              const k = String(r[key]);
              const link = props.rowHref?.(r);
              return (
                <tr class={props.toneColumn ? `tone-${tone(r[props.toneColumn]) || "none"}` : ""}>
                  {props.onSelect && (
                    <td class="pick">
                      <input
                        type="checkbox"
                        aria-label={`Select ${k}`}
                        checked={selected.has(k)}
                        onChange={() => toggleRow(k)}
                      />
                    </td>
                  )}
                  {shown.map((c) => {
                    const text = props.cellText?.(c.name, r) ?? cell(c.kind, c.name, r[c.name]);
                    if (c.name === key && link)
                      return (
                        <td>
                          <a href={link}>{text}</a>
                        </td>
                      );
                    if (c.name === key && props.onOpen) {
                      return (
                        <td>
                          <button type="button" class="link" onClick={() => props.onOpen?.(r)}>
                            {text}
                          </button>
                        </td>
                      );
                    }
                    const t = tone(r[c.name]);
                    return <td class={c.name}>{t ? <span class={`badge ${t}`}>{text}</span> : text}</td>;
                  })}
                </tr>
              );
            })}
          </tbody>
        </table>
        {page && rows.length === 0 && <p class="muted empty">Nothing matches.</p>}
      </div>
      <nav class="pager" aria-label={`${props.title} pages`}>
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - limit))}>
          ← Previous
        </button>
        <span aria-live="polite">
          <span data-testid="pager-text">{pagerText(offset, rows.length, page?.total)}</span>
          {loading ? " (loading…)" : ""}
        </span>
        <button type="button" disabled={page?.next_offset == null} onClick={() => setOffset(page?.next_offset ?? 0)}>
          Next →
        </button>
      </nav>
    </section>
  );
}
