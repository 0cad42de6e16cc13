#!/usr/bin/env python3
"""Portability check: every ClickHouse statement of the project runs on old and current ClickHouse.

Runs SQL files, statement by statement and in order, in a fresh chdb-core session (the current
ClickHouse engine, in-process) and, with --clickhouse-url, on a ClickHouse server over HTTP (the
local 18.16 of the test stack), then checks every view the files created. One command proves
both engines; the exit code is non-zero when anything failed on either.

    check.py [--clickhouse-url URL] [--no-chdb] [--keep] PATH...

PATH is a .sql file or a directory (its *.sql files, recursively, in path order). Paths run in
the order given, so put the migrations first, then fixtures, then queries.

Files
-----
Statements are split the way the migrator does (store/src/migrate.rs): at `;` outside quotes;
`--` comments are dropped (only `--` comments: no `/* */`). Each file runs with the check's
database selected (a fresh one per run on both engines), so unqualified table names work as
they do for the migrator and the services.

Placeholders (queries run by the Rust `clickhouse` crate with `.bind()`)
----------------------------------------------------------------------
The crate replaces every `?` of the query text with the next bound value, `??` with a literal
`?`, and `?fields` with the row type's column names. The check does the same, so a statement
with `?` must say what the Rust code binds, in a comment inside the statement (anywhere between
the previous `;` and its own `;`, usually just above it):

    -- params: tenant_id String, from_ms Int64, to_ms Int64 = 4102444800000, kinds Array(String)
    -- fields: tenant_id, user_id, status
    SELECT ?fields FROM sessions
    WHERE tenant_id = ? AND started_at_ms >= ? AND started_at_ms < ? AND has(?, status)

- `params:` lists the bound values in `.bind()` order: `name Type`, or `name Type = literal` to
  choose the SQL literal put in its place (several `-- params:` lines add up, in order). Without a literal the check uses a neutral one of the
  type: '' for String, 0 for numbers, '1970-01-01 00:00:00' for DateTime, [x] for Array(T)
  (x being T's), T's for Nullable(T) and LowCardinality(T). `Identifier` (the crate's quoted
  identifier) needs an explicit literal. As with the crate, the number of `?` must equal the
  number of params.
- `fields:` is what `?fields` becomes (default `*`).
- A bare `?` in a statement without `params:` is an error (in a migration too: the migrator
  sends migrations through the same crate, so a literal `?` must be written `??`).

Other markers
-------------
- `$ANCHOR_MS` in a statement is replaced by one fixed Int64 per run: the run's start, in
  milliseconds since the epoch, rounded down to the minute. Fixtures use it to place their
  rows "an hour ago", "3 days ago"... identically on both engines.
- `$SECRETS_DATABASE` is replaced by the name of the run's secrets database (the server
  database's name + `_secrets`), as the migrator and query-api put in `<database>_secrets`
  (migration 0013: the API tokens live apart from what analysts read).
- `-- check: no-compare` in a statement: do not compare its result between the engines.

What is checked
---------------
- Every statement runs without error on each engine.
- SELECT / WITH statements return the same rows on both engines (compared as multisets of
  TSV lines, so row order does not matter; both engines run in the server's time zone).
- After all files: every table and view of the database has the same column names and types
  on both engines (DESCRIBE), and every view answers `SELECT count()` and a full, ordered
  `SELECT *` (LIMIT 1000) with the same rows on both.

The server database is named portability_check_<UTC time>_<pid> and dropped at the end (not
with --keep); ones left over by a killed run are dropped once older than an hour.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import os
import re
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

DB_PREFIX = "portability_check_"
CHDB_DATABASE = "portability"
QUERY_KEYWORDS = ("SELECT", "WITH")


# --- splitting ------------------------------------------------------------------------------


@dataclasses.dataclass
class Statement:
    path: str
    line: int  # 1-based line of the statement's first character
    sql: str  # comments removed, trimmed, without its `;` (what the migrator sends)
    comments: list[str]  # text of the `--` comments between the previous `;` and this one

    @property
    def summary(self) -> str:
        first = " ".join(self.sql.split())
        return first if len(first) <= 70 else first[:67] + "..."


def split_statements(text: str, path: str) -> list[Statement]:
    """Same split as store/src/migrate.rs `split_statements`, keeping comments and lines."""
    statements: list[Statement] = []
    current: list[str] = []
    comments: list[str] = []
    start_line: int | None = None
    line = 1
    quote: str | None = None
    i, n = 0, len(text)

    def flush() -> None:
        nonlocal current, comments, start_line
        sql = "".join(current).strip()
        if sql:
            statements.append(Statement(path, start_line or line, sql, comments))
            comments = []
        current = []
        start_line = None

    while i < n:
        c = text[i]
        if quote is not None:
            current.append(c)
            if c == "\\" and i + 1 < n:
                i += 1
                current.append(text[i])
                line += text[i] == "\n"
            elif c == quote:
                quote = None
            line += c == "\n"
            i += 1
            continue
        if c in "'\"`":
            quote = c
            if start_line is None:
                start_line = line
            current.append(c)
        elif c == "-" and text.startswith("--", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            comments.append(text[i + 2 : end].strip())
            i = end  # the newline itself is kept below
            continue
        elif c == ";":
            flush()
        else:
            if start_line is None and not c.isspace():
                start_line = line
            current.append(c)
        line += c == "\n"
        i += 1
    flush()
    return statements


# --- placeholders ---------------------------------------------------------------------------


class CheckError(Exception):
    """A problem with a statement itself (not an engine error)."""


def split_top_level(text: str, sep: str) -> list[str]:
    """Splits at `sep` outside quotes, (), [] and {}."""
    parts, depth, quote, cur = [], 0, None, []
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            cur.append(c)
            if c == "\\" and i + 1 < len(text):
                i += 1
                cur.append(text[i])
            elif c == quote:
                quote = None
        elif c in "'\"`":
            quote = c
            cur.append(c)
        elif c in "([{":
            depth += 1
            cur.append(c)
        elif c in ")]}":
            depth -= 1
            cur.append(c)
        elif c == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


def default_literal(type_: str) -> str:
    t = type_.strip()
    m = re.fullmatch(r"(\w+)\s*(?:\((.*)\))?", t, re.S)
    if not m:
        raise CheckError(f"cannot read the param type {t!r}")
    name, inner = m.group(1), m.group(2)
    if name in ("Nullable", "LowCardinality"):
        return default_literal(inner or "")
    if name == "Array":
        return f"[{default_literal(inner or '')}]"
    if name == "Tuple":
        return "(" + ", ".join(default_literal(x) for x in split_top_level(inner or "", ",")) + ")"
    if name in ("String", "FixedString", "Enum8", "Enum16"):
        return "''"
    if name == "UUID":
        return "'00000000-0000-0000-0000-000000000000'"
    if re.fullmatch(r"U?Int\d+|Float\d+|Decimal\d*|Bool", name):
        return "0"
    if name == "Date":
        return "'1970-01-01'"
    if name in ("DateTime", "DateTime64"):
        return "'1970-01-01 00:00:00'"
    raise CheckError(f"no default literal for the param type {t!r}: write `name {t} = literal`")


def directive(stmt: Statement, key: str) -> list[str]:
    out = []
    for c in stmt.comments:
        m = re.match(rf"{key}\s*:(.*)$", c, re.I)
        if m:
            out.append(m.group(1).strip())
    return out


def parse_params(stmt: Statement) -> list[str] | None:
    found = directive(stmt, "params")
    if not found:
        return None
    literals = []
    for spec in found:
        for entry in split_top_level(spec, ","):
            entry = entry.strip()
            if not entry:
                continue
            head, *value = split_top_level(entry, "=")
            words = head.strip().split(None, 1)
            if len(words) != 2:
                raise CheckError(f"params entry {entry!r}: expected `name Type [= literal]`")
            if value:
                literals.append("=".join(value).strip())
            elif words[1].strip() == "Identifier":
                raise CheckError(f"params entry {entry!r}: an Identifier needs `= literal`")
            else:
                literals.append(default_literal(words[1]))
    return literals


def bind(stmt: Statement, anchor_ms: int, secrets: str = "portability_check_secrets") -> str:
    """The SQL sent to the engines: placeholders bound as the clickhouse crate would."""
    params = parse_params(stmt)
    fields = directive(stmt, "fields")
    out, used, i, sql = [], 0, 0, stmt.sql
    while i < len(sql):
        c = sql[i]
        if c != "?":
            out.append(c)
            i += 1
            continue
        if sql.startswith("??", i):
            out.append("?")
            i += 2
        elif sql.startswith("?fields", i):
            out.append(fields[0] if fields else "*")
            i += len("?fields")
        else:
            if params is None:
                raise CheckError(
                    "`?` is a bind placeholder for the clickhouse crate but the statement has no "
                    "`-- params: name Type, ...` comment (write `??` for a literal `?`)"
                )
            if used >= len(params):
                raise CheckError(f"more `?` placeholders than the {len(params)} params declared")
            out.append(params[used])
            used += 1
            i += 1
    if params is not None and used != len(params):
        raise CheckError(f"{len(params)} params declared but {used} `?` placeholders")
    return "".join(out).replace("$ANCHOR_MS", str(anchor_ms)).replace("$SECRETS_DATABASE", secrets)


def is_query(sql: str) -> bool:
    first = sql.lstrip("( \n\t").split(None, 1)
    return bool(first) and first[0].upper() in QUERY_KEYWORDS


# --- engines --------------------------------------------------------------------------------


@dataclasses.dataclass
class Result:
    ok: bool
    text: str  # TSV output, or the error
    ms: float


class ChdbEngine:
    label = "chdb"

    def __init__(self) -> None:
        import chdb  # noqa: PLC0415 (imported late: TZ must be set first)
        from chdb import session  # noqa: PLC0415

        self._tmp = tempfile.TemporaryDirectory(prefix="portability-chdb-")
        self._session = session.Session(self._tmp.name)
        self.version = self._session.query("SELECT version()", "TSV").bytes().decode().strip()
        self.label = f"chdb {'.'.join(self.version.split('.')[:2])}"
        self.description = f"chdb-core {chdb.__version__} (ClickHouse {self.version}, in-process)"
        for sql in (f"CREATE DATABASE {CHDB_DATABASE}", f"USE {CHDB_DATABASE}"):
            r = self.run(sql)
            if not r.ok:
                raise RuntimeError(f"chdb: {sql}: {r.text}")

    def run(self, sql: str) -> Result:
        t0 = time.perf_counter()
        try:
            res = self._session.query(sql, "TSV")
            text = res.bytes().decode("utf-8", "replace") if res is not None else ""
            return Result(True, text, (time.perf_counter() - t0) * 1000)
        except Exception as e:  # chdb raises ChdbError (a RuntimeError) with the server text
            return Result(False, clean_error(str(e)), (time.perf_counter() - t0) * 1000)

    def close(self) -> None:
        try:
            self._session.close()
        finally:
            self._tmp.cleanup()


class HttpEngine:
    def __init__(self, url: str, keep: bool, settings: dict[str, str] | None = None) -> None:
        self.url = url.rstrip("/") + "/"
        self.keep = keep
        self.settings = settings or {}
        self.database = None
        self.version = self._post("SELECT version()").strip()
        self.label = f"server {'.'.join(self.version.split('.')[:2])}"
        self.timezone = self._post("SELECT timezone()").strip()
        self._drop_stale()
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
        self.database = f"{DB_PREFIX}{stamp}_{os.getpid()}"
        self._post(f"CREATE DATABASE {self.database}")
        self.description = f"ClickHouse {self.version} at {self.url} (database {self.database})"

    def _post(self, sql: str, database: str | None = None) -> str:
        params = {"wait_end_of_query": "1"}
        if database:
            params["database"] = database
            params.update(self.settings)
        req = urllib.request.Request(
            self.url + "?" + urllib.parse.urlencode(params), data=sql.encode(), method="POST"
        )
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                return resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            raise RuntimeError(clean_error(e.read().decode("utf-8", "replace"))) from None

    def _drop_stale(self) -> None:
        cutoff = time.strftime("%Y%m%d%H%M%S", time.gmtime(time.time() - 3600))
        names = self._post(
            f"SELECT name FROM system.databases WHERE startsWith(name, '{DB_PREFIX}')"
        ).split()
        for name in names:
            m = re.fullmatch(DB_PREFIX + r"(\d{14})_\d+(_secrets)?", name)
            if m and m.group(1) < cutoff:
                self._post(f"DROP DATABASE IF EXISTS {name}")

    def run(self, sql: str) -> Result:
        t0 = time.perf_counter()
        try:
            text = self._post(sql, self.database)
            return Result(True, text, (time.perf_counter() - t0) * 1000)
        except (RuntimeError, OSError) as e:
            return Result(False, clean_error(str(e)), (time.perf_counter() - t0) * 1000)

    def close(self) -> None:
        if self.database and not self.keep:
            self._post(f"DROP DATABASE IF EXISTS {self.database}")
            self._post(f"DROP DATABASE IF EXISTS {self.database}_secrets")


def clean_error(text: str) -> str:
    text = " ".join(text.split())
    # 18.16 repeats the message as e.what(); newer versions append the stack trace.
    text = re.sub(r", e\.what\(\) = DB::Exception$", "", text)
    text = re.sub(r"\s*Stack trace.*$", "", text)
    return text if len(text) <= 600 else text[:597] + "..."


# --- the check ------------------------------------------------------------------------------


class Checker:
    def __init__(self, engines: list, verbose: bool, secrets: str) -> None:
        self.engines = engines
        self.secrets = secrets
        self.verbose = verbose
        self.failures = 0
        self.statements = 0
        self.queries_compared = 0

    def out(self, msg: str = "") -> None:
        print(msg, flush=True)

    def check(
        self, where: str, summary: str, sql: str, compare: bool, keep_fields: int = 0
    ) -> list[Result]:
        self.statements += 1
        results = [e.run(sql) for e in self.engines]
        if keep_fields:  # compare only the first fields of each row (DESCRIBE: name, type)
            for r in results:
                if r.ok:
                    r.text = "\n".join(
                        "\t".join(row.split("\t")[:keep_fields]) for row in r.text.splitlines()
                    )
        problems = [f"{e.label}: {r.text}" for e, r in zip(self.engines, results) if not r.ok]
        if compare and len(results) > 1 and all(r.ok for r in results):
            self.queries_compared += 1
            diff = compare_rows(self.engines, results)
            if diff:
                problems.append(diff)
        timing = "  ".join(f"{e.label} {r.ms:.0f} ms" for e, r in zip(self.engines, results))
        status = "FAIL" if problems else "OK"
        self.out(f"  {status:<4} {where:<7} {summary:<72} {timing}")
        for p in problems:
            self.out("\n".join("         " + line for line in p.splitlines()))
        if problems:
            self.failures += 1
            if self.verbose:
                self.out("         statement:\n" + indent(sql, 12))
        return results

    def run_file(self, path: Path, anchor_ms: int) -> None:
        self.out(str(path))
        try:
            statements = split_statements(path.read_text(encoding="utf-8"), str(path))
        except (OSError, UnicodeDecodeError) as e:
            self.out(f"  FAIL cannot read: {e}")
            self.failures += 1
            return
        if not statements:
            self.out("  (no statements)")
        for stmt in statements:
            try:
                sql = bind(stmt, anchor_ms, self.secrets)
            except CheckError as e:
                self.failures += 1
                self.statements += 1
                self.out(f"  {'FAIL':<4} {':' + str(stmt.line):<7} {stmt.summary}")
                self.out(f"         {e}")
                continue
            compare = is_query(sql) and not any(
                "no-compare" in d for d in directive(stmt, "check")
            )
            self.check(f":{stmt.line}", stmt.summary, sql, compare)

    def check_objects(self) -> None:
        self.out("objects of the database (tables: DESCRIBE; views: DESCRIBE, count, SELECT *)")
        listing = (
            "SELECT name, engine FROM system.tables WHERE database = currentDatabase() "
            "AND NOT startsWith(name, '.inner') ORDER BY name"
        )
        objects: dict[str, str] = {}
        for e in self.engines:
            r = e.run(listing)
            if not r.ok:
                self.failures += 1
                self.out(f"  FAIL listing the tables on {e.label}: {r.text}")
                return
            for row in r.text.splitlines():
                name, engine = row.split("\t")
                objects.setdefault(name, engine)
        if not objects:
            self.out("  (no tables or views)")
        for name, engine in objects.items():
            q = quote_ident(name)
            results = self.check(
                "", f"DESCRIBE {name} ({engine})", f"DESCRIBE TABLE {q}", True, keep_fields=2
            )
            if engine not in ("View", "MaterializedView"):
                continue
            columns = [row.split("\t")[0] for row in results[0].text.splitlines() if results[0].ok]
            self.check("", f"SELECT count() FROM {name}", f"SELECT count() FROM {q}", True)
            order = ", ".join(quote_ident(c) for c in columns) or "tuple()"
            self.check(
                "",
                f"SELECT * FROM {name} ORDER BY <every column> LIMIT 1000",
                f"SELECT * FROM {q} ORDER BY {order} LIMIT 1000",
                True,
            )


def quote_ident(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def indent(text: str, n: int) -> str:
    return "\n".join(" " * n + line for line in text.splitlines())


def compare_rows(engines: list, results: list[Result]) -> str | None:
    base = sorted(results[0].text.splitlines())
    for e, r in zip(engines[1:], results[1:]):
        other = sorted(r.text.splitlines())
        if other != base:
            diff = list(
                difflib.unified_diff(base, other, engines[0].label, e.label, n=0, lineterm="")
            )
            shown = diff[:24] + ([f"... {len(diff) - 24} more lines"] if len(diff) > 24 else [])
            return "results differ (sorted rows):\n" + "\n".join(shown)
    return None


def collect(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(x for x in p.rglob("*.sql") if x.is_file()))
        elif p.is_file():
            files.append(p)
        else:
            raise SystemExit(f"check.py: no such file or directory: {p}")
    seen, out = set(), []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Run SQL files on chdb-core (current ClickHouse) and an old ClickHouse server.",
        epilog="The conventions for files and placeholders are at the top of this script.",
    )
    ap.add_argument("paths", nargs="+", help=".sql files or directories, run in this order")
    ap.add_argument("--clickhouse-url", help="also run on this server, e.g. http://127.0.0.1:8123")
    ap.add_argument("--no-chdb", action="store_true", help="do not run on chdb-core")
    ap.add_argument("--keep", action="store_true", help="keep the server database after the run")
    ap.add_argument(
        "--server-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for every statement on the server (repeatable), "
        "e.g. enable_optimize_predicate_expression=1",
    )
    ap.add_argument("-v", "--verbose", action="store_true", help="print failed statements whole")
    args = ap.parse_args(argv)
    if any("=" not in kv for kv in args.server_setting):
        ap.error("--server-setting takes NAME=VALUE")
    if args.no_chdb and not args.clickhouse_url:
        ap.error("nothing to run on: --no-chdb without --clickhouse-url")

    t0 = time.time()
    files = collect(args.paths)
    anchor_ms = int(t0 // 60 * 60 * 1000)
    engines: list = []
    try:
        if args.clickhouse_url:
            try:
                settings = dict(kv.split("=", 1) for kv in args.server_setting)
                server = HttpEngine(args.clickhouse_url, args.keep, settings)
            except (RuntimeError, OSError) as e:
                print(f"FAIL cannot use the server at {args.clickhouse_url}: {e}")
                return 2
            engines.append(server)
            os.environ["TZ"] = server.timezone  # chdb follows TZ: same time zone on both
        else:
            os.environ.setdefault("TZ", "UTC")
        if not args.no_chdb:
            try:
                engines.insert(0, ChdbEngine())
            except ImportError:
                print("FAIL chdb is not installed: pip install -r requirements.txt (beside check.py)")
                return 2
        for e in engines:
            print(f"{e.label:<12} = {e.description}")
        print(f"$ANCHOR_MS   = {anchor_ms}")
        server_db = next((e.database for e in engines if isinstance(e, HttpEngine)), None)
        secrets = f"{server_db}_secrets" if server_db else "portability_check_secrets"
        print(f"$SECRETS_DATABASE = {secrets}")
        checker = Checker(engines, args.verbose, secrets)
        for f in files:
            checker.run_file(f, anchor_ms)
        checker.check_objects()
    finally:
        for e in engines:
            try:
                e.close()
            except Exception as err:  # noqa: BLE001 (report and go on closing the others)
                print(f"warning: closing {e.label}: {err}")
    took = time.time() - t0
    verdict = "FAILED" if checker.failures else "passed"
    print(
        f"portability check {verdict}: {checker.statements} statements on "
        f"{' and '.join(e.label for e in engines)}, {checker.failures} failed, "
        f"{checker.queries_compared} results compared, {len(files)} files, {took:.1f} s"
    )
    return 1 if checker.failures else 0


if __name__ == "__main__":
    sys.exit(main())
