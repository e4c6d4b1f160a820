"""The Japanese catalog ships in the wheel and loads from the installed package, not from a source tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CATALOG = "app/locale/ja/LC_MESSAGES/messages.po"


def test_a_wheel_carries_the_catalog_and_the_installed_package_reads_it(tmp_path: Path) -> None:
    source = tmp_path / "src"  # a copy: building in place would leave build/ in the work tree
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
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
    installed = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        assert CATALOG in archive.namelist()
        archive.extractall(installed)
    shutil.rmtree(source)  # nothing but the unpacked wheel can answer now
    expected = (ROOT / CATALOG).read_text(encoding="utf-8")
    code = (
        "import app, sys\n"
        "from pathlib import Path\n"
        f"assert Path(app.__file__).is_relative_to({str(installed)!r}), app.__file__\n"
        "from app.i18n import translator\n"
        "print(translator('ja')('On call now'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env={"PYTHONPATH": str(installed), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    shown = done.stdout.strip()
    assert shown != "On call now"
    assert f'msgid "On call now"\nmsgstr "{shown}"' in expected
