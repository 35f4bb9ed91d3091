import re
from pathlib import Path

from realtime.options import markdown_table

ROOT = Path(__file__).resolve().parents[1]


def test_readme_settings_table_matches_the_options_module():
    readme = (ROOT / "README.md").read_text()
    table = re.search(r"<!-- settings -->\n(.*)\n<!-- /settings -->", readme, re.S).group(1)
    assert table == markdown_table(), "run: python -m realtime.options --write"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "bash tests/run.sh" in readme
    assert "tests/run.sh" in (ROOT / ".ci/run").read_text()
