"""Names come from users' files: the terminal shows them as they are, never as Rich markup."""

from __future__ import annotations

from pathlib import Path

from tests.cli_run import cli
from tests.media import make_photo


def test_file_names_with_brackets_print_literally(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    assert cli("init", str(lib)).returncode == 0
    folder = tmp_path / "a[" / "x"
    folder.mkdir(parents=True)
    photo = make_photo(folder / "[bold]launch [link=x].jpg", 3)
    added = cli("add", str(photo), library=lib)
    assert added.returncode == 0, added.stderr
    listed = cli("list", library=lib, env={"COLUMNS": "200"})
    assert listed.returncode == 0, listed.stderr
    assert "[bold]launch [link=x].jpg" in listed.stdout
    missing = cli("verify", str(tmp_path / "a[" / "[/x].jpg"), library=lib)  # holds "[/"
    assert missing.returncode == 1
    assert "unexpected error" not in missing.stderr and "[/x].jpg" in missing.stderr
    verified = cli("verify", str(photo), library=lib, env={"COLUMNS": "300"})
    assert verified.returncode == 0 and "[bold]launch [link=x].jpg" in verified.stdout
