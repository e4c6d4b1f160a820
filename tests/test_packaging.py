"""What the wheel carries and `oncall-bot init` writes; LICENSE; requires-python; a teams file with a BOM."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from app.cli import main
from app.oncall_config import load_oncall_config
from app.sandbox.world import teams_toml

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "app" / "templates"


@pytest.mark.parametrize("name", ["manifest.yaml", "oncall.example.toml"])
def test_the_packaged_copy_is_the_top_level_file(name: str) -> None:
    packaged = (TEMPLATES / name).read_text(encoding="utf-8")
    assert packaged == (ROOT / name).read_text(encoding="utf-8"), (
        f"app/templates/{name} differs from {name}: copy {name} over it (the wheel ships app/templates/)"
    )


def test_init_writes_the_manifest_and_a_teams_file_and_never_overwrites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init"]) == 0  # the autouse fixture runs each test in its own tmp_path
    assert (tmp_path / "manifest.yaml").read_text(encoding="utf-8") == (ROOT / "manifest.yaml").read_text(
        encoding="utf-8"
    )
    assert load_oncall_config(tmp_path / "oncall.toml").teams  # a valid teams file to edit
    (tmp_path / "oncall.toml").write_text("# mine\n", encoding="utf-8")
    (tmp_path / "manifest.yaml").unlink()
    assert main(["init"]) == 1
    assert "oncall.toml already here" in capsys.readouterr().err
    assert (tmp_path / "oncall.toml").read_text(encoding="utf-8") == "# mine\n"
    assert not (tmp_path / "manifest.yaml").exists()  # all or nothing


def test_a_teams_file_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "oncall.toml"
    path.write_bytes(b"\xef\xbb\xbf" + teams_toml().encode("utf-8"))  # as Notepad saves UTF-8
    assert [team.name for team in load_oncall_config(path).teams] == ["data"]


def test_license_and_requires_python_are_stated() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert pyproject["license"] == {"text": "MIT"}
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    minimum = pyproject["requires-python"].removeprefix(">=")
    assert f"Python {minimum} or newer" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_wheel_carries_the_manifest_the_example_and_the_license(tmp_path: Path) -> None:
    source = tmp_path / "src"  # a copy: building in place would leave build/ in the work tree
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "manifest.yaml", "oncall.example.toml"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "app", source / "app", ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    [wheel] = (tmp_path / "dist").glob("oncall_bot-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "app/templates/manifest.yaml" in names
    assert "app/templates/oncall.example.toml" in names
    assert any(name.endswith("/LICENSE") for name in names)
    assert "app/store/migrations/versions/0001_initial_schema.py" in names
