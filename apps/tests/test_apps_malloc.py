"""The command lines re-execute once with glibc's huge-page malloc, and only when it applies."""

import os
import subprocess
import sys

import pytest
from jaxnas.apps import _malloc


def test_user_setting_and_opt_out_win():
    assert not _malloc.hugepage_malloc_applies({"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"})
    assert not _malloc.hugepage_malloc_applies({"JAXNAS_HUGEPAGE_MALLOC": "0"})


def test_reexec_replaces_the_process_with_the_tunable_set(monkeypatch):
    calls = []

    def fake_execve(path, argv, env):
        calls.append((path, argv, env))
        raise SystemExit(0)

    monkeypatch.setattr(_malloc, "hugepage_malloc_applies", lambda environ=None: True)
    monkeypatch.setattr(os, "execve", fake_execve)
    with pytest.raises(SystemExit):
        _malloc.reexec_with_hugepage_malloc()
    (path, argv, env), = calls
    assert path == sys.executable and argv == [sys.executable, *sys.orig_argv[1:]]
    assert env["GLIBC_TUNABLES"] == _malloc.TUNABLE


def test_reexec_does_nothing_when_it_does_not_apply(monkeypatch):
    monkeypatch.setattr(_malloc, "hugepage_malloc_applies", lambda environ=None: False)
    monkeypatch.setattr(os, "execve", lambda *a: pytest.fail("must not re-execute"))
    _malloc.reexec_with_hugepage_malloc()


def test_a_real_process_comes_back_once_with_the_tunable():
    env = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "JAXNAS_HUGEPAGE_MALLOC")}
    if not _malloc.hugepage_malloc_applies(env):
        pytest.skip("not Linux/glibc >= 2.35 with transparent huge pages")
    code = ("import os; from jaxnas.apps._malloc import reexec_with_hugepage_malloc; print('start'); "
            "reexec_with_hugepage_malloc(); print(os.environ['GLIBC_TUNABLES'])")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["start", "start", _malloc.TUNABLE]  # ran twice, then stopped
