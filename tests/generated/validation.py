"""Checks of the data validation stage."""

from __future__ import annotations


class ValidationChecks:
    """Bad raw data stops the pipeline with a report, not a traceback."""

    def test_a_corrupted_csv_is_refused_with_a_report(self, project, tmp_path):
        workspace = project.workspace(tmp_path)
        workspace.job("snapshot")
        raw = tmp_path / "data" / "raw" / "data.csv"
        lines = raw.read_text().splitlines()
        header = lines[0].split(",")
        row = lines[4].split(",")
        row[header.index("mean_radius")] = "abc"
        lines[4] = ",".join(row)
        raw.write_text("\n".join(lines) + "\n")
        refused = workspace.job("pipeline", check=False)
        assert "error: The raw data failed 1 check(s) of data_checks.py" in refused
        assert "mean_radius" in refused and "line 5 (abc)" in refused
        assert "Traceback" not in refused
        assert not (tmp_path / "data" / "prepared").exists(), "nothing downstream ran"
