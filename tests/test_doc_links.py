"""No document in the repository points to a file that is not there.

Checked in every tracked ``*.md`` and ``*.py`` file: relative Markdown links
``[text](path)``, ``docs/...`` paths, and bare ``NAME.md`` names in Python files
and ``*.md`` files (e.g. a cited design document), which must name a file somewhere in the repository.
"""

from __future__ import annotations

import pathlib
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[1]
MD_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
DOCS_PATH = re.compile(r"(?<![\w/.])(docs/[\w./-]*\w)")
MD_NAME = re.compile(r"(?<![\w/.-])([\w-]+\.md)\b")
# This file's own deliberate bad examples.
SKIP = {"tests/test_doc_links.py"}


def _tracked(*patterns: str) -> list[pathlib.Path]:
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", *patterns], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.split()
    return [ROOT / p for p in out if (ROOT / p).is_file()]


def _broken(path: pathlib.Path, names: set[str]) -> list[str]:
    text = path.read_text(encoding="utf-8")
    bad = []
    if path.suffix == ".md":
        for target in MD_LINK.findall(text):
            if re.match(r"^[a-z]+:|^#", target):        # URLs, mailto:, in-page anchors
                continue
            if not (path.parent / target.split("#")[0]).exists():
                bad.append(f"link {target}")
    for target in DOCS_PATH.findall(text):
        if not (ROOT / target).exists():
            bad.append(f"path {target}")
    bad += [f"document {name}" for name in MD_NAME.findall(text) if name not in names]
    return bad


def test_every_doc_reference_exists():
    files = _tracked("*.md", "*.py")
    names = {p.name for p in _tracked()}
    problems = {str(p.relative_to(ROOT)): _broken(p, names) for p in files}
    problems = {k: v for k, v in problems.items() if v and k not in SKIP}
    assert not problems, f"references to files that are not in the repository: {problems}"


def test_the_check_catches_a_missing_design_document(tmp_path):
    py, md = tmp_path / "m.py", tmp_path / "README.md"
    py.write_text('"""See DESIGN.md section 7 and docs/nothing.md."""\n')
    md.write_text("[design](docs/nowhere.md) and [here](README.md)\n")
    assert _broken(py, {"README.md"}) == ["path docs/nothing.md", "document DESIGN.md"]
    assert _broken(md, {"README.md"}) == ["link docs/nowhere.md", "path docs/nowhere.md"]
