"""The benchmark table: its columns and the note column of rows that carry one."""

from __future__ import annotations

from latentviz.bench.harness import Row, format_table


def test_the_table_has_a_note_column_only_when_a_row_has_a_note() -> None:
    plain = Row("core", "slider", 12.3456, "ms", p95=15.0, target="<= 10 ms")
    table = format_table([plain])
    assert "note" not in table.splitlines()[0] and "12.35" in table and "<= 10 ms" in table
    noted = Row("dashboard", "8 sessions", 116.0, "ms", note="0 lost events of 480; p95 2.57× one session")
    lines = format_table([plain, noted]).splitlines()
    assert lines[0].rstrip(" |").endswith("note")
    assert lines[-1].rstrip(" |").endswith("0 lost events of 480; p95 2.57× one session")
    assert len({len(line) for line in lines}) == 1  # every line padded to the same columns
    assert noted.to_dict()["note"].startswith("0 lost")
