"""Guards for the monorepo layout: PEP 420 namespace, wheel contents, metadata, import contracts."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys
import tomllib
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = sorted([p for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").exists()]
                  + [ROOT / "apps"])
NAMES = [p.name for p in PACKAGES]

# Allowed jaxnas dependencies of each distribution (the arrows of the package map).
ARROWS = {
    "searchspace": set(),
    "latency": {"searchspace"},
    "controller": {"searchspace"},
    "supernet": {"searchspace"},
    "detection": set(),
    "apps": {"searchspace", "latency", "controller", "supernet", "detection"},
}


def _import_name(package: pathlib.Path) -> str:
    return package.name


@pytest.mark.parametrize("package", PACKAGES, ids=NAMES)
def test_no_namespace_init(package):
    # A src/jaxnas/__init__.py turns the namespace into a regular package and hides all the others.
    assert not (package / "src" / "jaxnas" / "__init__.py").exists()
    assert (package / "src" / "jaxnas" / _import_name(package) / "__init__.py").exists()


@pytest.mark.parametrize("package", PACKAGES, ids=NAMES)
def test_metadata_version_readme_changelog(package):
    meta = tomllib.loads((package / "pyproject.toml").read_text())
    name = _import_name(package)
    assert meta["project"]["name"] == f"jaxnas-{name}"
    assert meta["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["src/jaxnas"]
    version = (package / "src" / "jaxnas" / name / "_version.py").read_text()
    assert re.search(r'__version__ = "\d+\.\d+\.\d+"', version)
    readme = (package / "README.md").read_text()
    assert len(readme) > 400 and "```" in readme and "pip install" in readme, "README needs install + example"
    changelog = (package / "CHANGELOG.md").read_text()
    assert re.search(r"## \d+\.\d+\.\d+", changelog)


@pytest.mark.parametrize("package", PACKAGES, ids=NAMES)
def test_dependency_arrows_point_one_way(package):
    meta = tomllib.loads((package / "pyproject.toml").read_text())
    deps = meta["project"].get("dependencies", [])
    siblings = {re.match(r"jaxnas-([a-z]+)", d).group(1) for d in deps if d.startswith("jaxnas-")}
    assert siblings <= ARROWS[package.name], f"{package.name} may not depend on {siblings - ARROWS[package.name]}"
    for dep in deps:
        if dep.startswith("jaxnas-"):
            assert ">=" in dep and "==" not in dep, f"sibling dependencies use lower bounds: {dep}"


@pytest.mark.parametrize("package", PACKAGES, ids=NAMES)
def test_wheel_holds_only_its_own_subpackage(package, tmp_path):
    pytest.importorskip("hatchling")
    subprocess.run([sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
                   cwd=package, check=True, capture_output=True)
    (wheel,) = tmp_path.glob("*.whl")
    files = [n for n in zipfile.ZipFile(wheel).namelist() if ".dist-info/" not in n]
    prefix = f"jaxnas/{_import_name(package)}/"
    assert files and all(n.startswith(prefix) for n in files), [n for n in files if not n.startswith(prefix)]
    assert "jaxnas/__init__.py" not in files
    if package.name == "supernet":  # the C++ source the CPU kernels are built from on first use
        assert "jaxnas/supernet/_kernels/cpu_kernels.cc" in files


@pytest.mark.parametrize("module", ["jaxnas.searchspace", "jaxnas.latency"])
def test_light_packages_do_not_import_jax(module):
    code = f"import sys, {module}; print(sorted(m for m in ('jax', 'tensorflow') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_all_packages_share_the_namespace():
    code = "import jaxnas, " + ", ".join(f"jaxnas.{n}" for n in NAMES) + "; print(list(jaxnas.__path__))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.count("src/jaxnas") == len(NAMES)
