"""Unit tests of check.py's splitting and binding (stdlib only; run.sh runs them first).

    python3 -m unittest discover -s deploy/clickhouse/portability
"""

import io
import sys
import tempfile
import unittest
from contextlib import redirect_stdout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import check  # noqa: E402


def one(sql: str) -> check.Statement:
    statements = check.split_statements(sql, "t.sql")
    assert len(statements) == 1, statements
    return statements[0]


class SplitTest(unittest.TestCase):
    def test_split_like_the_migrator(self):
        text = (
            "-- header\n"
            "CREATE TABLE a (x String DEFAULT 'a;b') ENGINE = Memory;\n"
            "\n"
            "-- second\n"
            "SELECT 'it''s -- not a comment', \"q;\" -- trailing\n"
            "FROM a;\n"
            ";\n"
            "SELECT `we;ird` FROM a"
        )
        got = check.split_statements(text, "t.sql")
        self.assertEqual(
            [s.sql for s in got],
            [
                "CREATE TABLE a (x String DEFAULT 'a;b') ENGINE = Memory",
                "SELECT 'it''s -- not a comment', \"q;\" \nFROM a",
                "SELECT `we;ird` FROM a",
            ],
        )
        self.assertEqual([s.line for s in got], [2, 5, 8])
        self.assertEqual(got[0].comments, ["header"])
        self.assertEqual(got[1].comments, ["second", "trailing"])

    def test_backslash_escape_in_quotes(self):
        got = check.split_statements("SELECT 'a\\';b'; SELECT 2", "t.sql")
        self.assertEqual([s.sql for s in got], ["SELECT 'a\\';b'", "SELECT 2"])


class BindTest(unittest.TestCase):
    def test_params_defaults_and_literals(self):
        s = one(
            "-- params: id Identifier = `sessions`, tenant String, from_ms Int64 = 1000,\n"
            "-- params: kinds Array(LowCardinality(String)), at DateTime, pair Tuple(String, UInt8)\n"
            "SELECT * FROM ? WHERE t = ? AND ms >= ? AND has(?, k) AND d > ? AND p = ?"
        )
        self.assertEqual(
            check.bind(s, 0),
            "SELECT * FROM `sessions` WHERE t = '' AND ms >= 1000 AND has([''], k) "
            "AND d > '1970-01-01 00:00:00' AND p = ('', 0)",
        )

    def test_escapes_fields_and_anchor(self):
        s = one("-- fields: a, b\nSELECT ?fields, 'what??' FROM t WHERE ms < $ANCHOR_MS")
        self.assertEqual(check.bind(s, 42), "SELECT a, b, 'what?' FROM t WHERE ms < 42")
        s = one("SELECT ?fields FROM t")
        self.assertEqual(check.bind(s, 0), "SELECT * FROM t")

    def test_placeholder_without_params_is_an_error(self):
        with self.assertRaisesRegex(check.CheckError, "no `-- params:"):
            check.bind(one("SELECT 'is it?'"), 0)

    def test_count_mismatch_is_an_error(self):
        with self.assertRaisesRegex(check.CheckError, "more `\\?`"):
            check.bind(one("-- params: a String\nSELECT ?, ?"), 0)
        with self.assertRaisesRegex(check.CheckError, "2 params declared but 1"):
            check.bind(one("-- params: a String, b Int32\nSELECT ?"), 0)

    def test_unknown_type_needs_a_literal(self):
        with self.assertRaisesRegex(check.CheckError, "no default literal"):
            check.bind(one("-- params: m Map(String, Int64)\nSELECT ?"), 0)
        s = one("-- params: m Map(String, Int64) = map('a', 1)\nSELECT ?")
        self.assertEqual(check.bind(s, 0), "SELECT map('a', 1)")

    def test_params_apply_to_their_statement_only(self):
        got = check.split_statements("-- params: a String\nSELECT ?;\nSELECT ?", "t.sql")
        self.assertEqual(check.bind(got[0], 0), "SELECT ''")
        with self.assertRaises(check.CheckError):
            check.bind(got[1], 0)


class ExamplesDocumentedTest(unittest.TestCase):
    def test_every_example_is_in_the_schema_doc(self):
        here = Path(__file__).resolve().parent
        doc = here.parents[2] / "docs" / "clickhouse-schema.md"
        if not doc.exists():
            self.skipTest("docs/clickhouse-schema.md not found")
        text = " ".join(doc.read_text(encoding="utf-8").split())
        examples = check.split_statements((here / "examples.sql").read_text(), "examples.sql")
        self.assertGreaterEqual(len(examples), 8)
        for stmt in examples:
            self.assertIn(" ".join(stmt.sql.split()), text, f"examples.sql:{stmt.line}")


class ChdbRunTest(unittest.TestCase):
    """End to end on chdb alone, when chdb is installed (the venv of run.sh)."""

    def test_failures_are_reported(self):
        try:
            import chdb  # noqa: F401
        except ImportError:
            self.skipTest("chdb not installed")
        with tempfile.TemporaryDirectory() as d:
            good = Path(d, "1_good.sql")
            good.write_text(
                "CREATE TABLE t (a Int64, s String) ENGINE = MergeTree ORDER BY a;\n"
                "CREATE VIEW v AS SELECT a, s FROM t;\n"
                "-- params: a Int64 = 1, s String\n"
                "SELECT count() FROM v WHERE a = ? AND s = ?;\n"
            )
            bad = Path(d, "2_bad.sql")
            bad.write_text("SELECT nosuch_function();\nSELECT ?;\n")
            out = io.StringIO()
            with redirect_stdout(out):
                code = check.main([str(good)])
            self.assertEqual(code, 0, out.getvalue())
            out = io.StringIO()
            with redirect_stdout(out):
                code = check.main([d])
            self.assertEqual(code, 1, out.getvalue())
            self.assertIn("2 failed", out.getvalue())
            self.assertIn("UNKNOWN_FUNCTION", out.getvalue())


if __name__ == "__main__":
    unittest.main()
