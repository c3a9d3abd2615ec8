"""Compiled copies of the model's hot modules (mypyc), used only while they match the sources.

Nearly all of a large run's time is spent in a few modules that every study session passes
through (``HOT``). ``yanxiu compile`` compiles them with mypyc (the compiler mypy
ships; the code stays plain, annotated Python) into ``native_dir()`` inside the virtual
environment, never into the source tree, and records a SHA-256 of every source it compiled.
``install`` (called by the entry points that run the model, before they import it: ``yanxiu
run``, the replication workers, the bench scripts; importing ``sim`` or ``domain`` installs
nothing) puts a finder in front of the import system that serves those modules compiled only
when the build matches the running interpreter and *every* recorded hash matches the current
sources; otherwise the plain Python modules load, so an edited source is never shadowed by a
stale build. Compiled and plain modules give the same results bit for bit
(tests/sim/test_native.py).

``YANXIU_NATIVE=0`` in the environment turns the compiled modules off (for comparisons).
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HOT = (
    "sim.sessions.behaviour", "sim.sessions.client", "sim.sessions.study", "domain.decisions",
    "sim.sessions.recorder", "sim.sessions.schedule", "sim.streams",
)
SOURCE_ROOT = Path(__file__).resolve().parent.parent
MANIFEST = "manifest.json"


def native_dir() -> Path:
    return Path(os.environ.get("YANXIU_NATIVE_DIR", Path(sys.prefix) / "yanxiu-native"))


def _source(module: str) -> Path:
    return SOURCE_ROOT.joinpath(*module.split(".")).with_suffix(".py")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _suffix() -> str:
    return importlib.machinery.EXTENSION_SUFFIXES[0]


class _Finder(importlib.abc.MetaPathFinder):
    """Serves the compiled build's modules by name (the hot modules and mypyc's group)."""

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files

    def find_spec(self, fullname, path=None, target=None):
        file = self.files.get(fullname)
        if file is None:
            return None
        loader = importlib.machinery.ExtensionFileLoader(fullname, str(file))
        return importlib.util.spec_from_file_location(fullname, file, loader=loader)


def usable_build(where: Path | None = None) -> dict[str, Path] | None:
    """The build's module files when it is complete and current, else None."""
    where = native_dir() if where is None else where
    try:
        manifest = json.loads((where / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("suffix") != _suffix():
        return None
    sources = manifest.get("sources", {})
    if set(sources) != set(HOT):
        return None
    for module, digest in sources.items():
        source = _source(module)
        if not source.is_file() or _digest(source) != digest:
            return None
    files = {name: where / rel for name, rel in manifest.get("files", {}).items()}
    return files if files and all(f.is_file() for f in files.values()) else None


def install() -> bool:
    """Use the compiled modules if a current build exists; True when installed."""
    if os.environ.get("YANXIU_NATIVE", "1") == "0":
        return False
    if any(isinstance(f, _Finder) for f in sys.meta_path):
        return True
    if any(name in sys.modules for name in HOT):
        return False  # too late: a plain module is already in use
    files = usable_build()
    if files is None:
        return False
    sys.meta_path.insert(0, _Finder(files))
    return True


def active() -> bool:
    """Whether the hot modules running in this process are the compiled ones."""
    module = sys.modules.get(HOT[0])
    return module is not None and str(getattr(module, "__file__", "")).endswith(_suffix())


def build(where: Path | None = None) -> Path:
    """Compile ``HOT`` with mypyc into ``where`` (default ``native_dir()``)."""
    where = native_dir() if where is None else where
    with tempfile.TemporaryDirectory(prefix="yanxiu-mypyc-") as tmp:
        work = Path(tmp)
        for top in ("sim", "domain"):
            shutil.copytree(SOURCE_ROOT / top, work / top,
                            ignore=shutil.ignore_patterns("__pycache__", "*.so"))
            # mypyc names modules by their package path; the copies must not import the finder
            for init in (work / top).rglob("__init__.py"):
                init.write_text("")
        targets = [module.replace(".", "/") + ".py" for module in HOT]
        done = subprocess.run([sys.executable, "-m", "mypyc", *targets], cwd=work,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError("mypyc failed: " + (done.stdout + done.stderr).strip()[-2000:])
        files = _collect(work, where)
    manifest = {"suffix": _suffix(), "files": files,
                "sources": {m: _digest(_source(m)) for m in HOT}}
    (where / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return where


def _collect(work: Path, where: Path) -> dict[str, str]:
    """Copy the compiled libraries (one per hot module plus mypyc's shared group) to ``where``."""
    if where.exists():
        shutil.rmtree(where)
    where.mkdir(parents=True)
    files = {}
    for lib in work.glob(f"*{_suffix()}"):
        shutil.copy2(lib, where / lib.name)
        files[lib.name[: -len(_suffix())]] = lib.name
    for module in HOT:
        name = module.replace(".", "/") + _suffix()
        (where / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(work / name, where / name)
        files[module] = name
    return files
