"""One import namespace and a light install (issue 15): what pyproject.toml promises, checked.

The four product folders install as ``seabus.streams``, ``seabus.schemas``,
``seabus.connectors`` and ``seabus.deploy``; the light install (no ``[bus]`` extra)
must give agencies the SDK and states the subscriber client without faust-streaming
or rocksdict. The fresh-environment test builds the wheel and installs it next to
PyPI's own ``schemas`` package, the collision the namespace exists to avoid.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FOLDERS = ("streams", "schemas", "connectors", "deploy")
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))

# Top-level modules of the `[bus]` extra's distributions: the light install has none of them.
SERVER_ONLY = (
    "faust",
    "mode",
    "rocksdict",
    "holidays",
    "isodate",
    "prometheus_client",
    "sortedcontainers",
    "cryptography",
    "jinja2",
    "fpdf",
    "babel",
)
LIGHT_MODULES = (
    "seabus.connectors.publisher",
    "seabus.connectors.subscriber",
    "seabus.schemas.codec",
    "seabus.schemas.models",
    "seabus.schemas.validation",
    "seabus.schemas.registry",
)

_BLOCK = f"""
import importlib.abc, sys
class _Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {SERVER_ONLY!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, _Absent())
"""


DATA_SUFFIXES = (".yaml", ".yml", ".avsc")


def _tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, timeout=60)
    return [name for name in out.stdout.decode().split("\0") if name]


def _shipped_data(tracked: list[str]) -> list[str]:
    """The tracked schema and configuration files, as paths inside the installed ``seabus``."""
    return [
        name
        for name in tracked
        if name.split("/")[0] in FOLDERS
        and Path(name).suffix in DATA_SUFFIXES
        and "tests" not in name.split("/")
    ]


def _package_folders() -> set[str]:
    """Python packages, and the data-only folders (schemas, default configuration) they ship.

    setuptools warns at every install about a data folder that is not a listed package.
    """
    tracked = _tracked()
    found = {Path(n).parent for n in tracked if n.split("/")[0] in FOLDERS and n.endswith("/__init__.py")}
    found |= {Path(n).parent for n in _shipped_data(tracked)}
    return {"seabus." + ".".join(p.parts) for p in found}


def test_every_package_folder_is_installed_under_the_namespace() -> None:
    tool = PYPROJECT["tool"]["setuptools"]
    assert tool["package-dir"] == {f"seabus.{f}": f for f in FOLDERS}
    assert set(tool["packages"]) == _package_folders()
    assert PYPROJECT["project"]["scripts"]["seabus"] == "seabus.deploy.cli.main:main"


def test_the_light_install_declares_no_server_dependency() -> None:
    light = " ".join(PYPROJECT["project"]["dependencies"]).lower()
    for name in ("faust", "rocksdict", "holidays", "cryptography", "jinja2", "fpdf2", "babel"):
        assert name not in light, name


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _BLOCK + code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd="/",  # not the repository: its folders must not shadow anything
    )


def test_sdk_subscriber_and_contract_import_without_the_server_dependencies() -> None:
    code = "\n".join(f"import {m}" for m in LIGHT_MODULES) + (
        f"\nleaked = sorted(m for m in sys.modules if m.split('.')[0] in {SERVER_ONLY!r})"
        "\nassert not leaked, leaked\nprint('light ok')"
    )
    out = _python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "light ok"


def test_the_cli_runs_without_the_server_dependencies_and_names_the_extra() -> None:
    code = "from seabus.deploy.cli.main import main; sys.argv = ['seabus', *sys.argv[1:]]; main()"
    version = _python(code, "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("seabus ")
    listed = _python(code, "--help")
    assert listed.returncode == 0, listed.stderr
    assert "run" in listed.stdout
    refused = _python(code, "run")
    assert refused.returncode == 2
    assert "pip install 'seabus[bus]'" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_fresh_environment_with_pypis_schemas_package_installs_seabus(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    pip_env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}

    def pip(*args: str) -> None:
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *args],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
            env=pip_env,
        )
        assert done.returncode == 0, done.stdout + done.stderr

    pip("schemas")  # PyPI's unrelated `schemas` package: a top-level `schemas` module
    # The light install from a built wheel (not editable), built from a copy of the tracked
    # files so setuptools' build/ and egg-info never land in the repository.
    source = tmp_path / "source"
    tracked = _tracked()
    for name in tracked:
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    pip(str(source))
    seabus = env_dir / "bin" / "seabus"
    version = subprocess.run(
        [str(seabus), "--version"], capture_output=True, text=True, timeout=120, check=False
    )
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip().startswith("seabus ")
    # PyPI's `schemas` is Python 2 code: it is not imported, only found where it was installed.
    probe = (
        "import importlib.util, seabus.schemas.codec, seabus.connectors.publisher, seabus.connectors.subscriber\n"
        "theirs = importlib.util.find_spec('schemas')\n"
        "assert theirs is not None and 'seabus' not in theirs.origin, theirs\n"
        "assert importlib.util.find_spec('faust') is None and importlib.util.find_spec('rocksdict') is None\n"
        "import importlib.resources as r\n"
        f"shipped = {sorted(_shipped_data(tracked))!r}\n"
        "missing = [n for n in shipped if not r.files('seabus').joinpath(n).is_file()]\n"
        "assert not missing, missing\n"
        "print('ok')"
    )
    out = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, timeout=120, cwd="/", check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
