"""The per-user cache: where generated data goes instead of the (possibly read-only) data root."""

from __future__ import annotations

import pytest

from dlclassics.data.root import cache_dir, cache_root, resolve_data_root, user_cache_dir
from dlclassics.errors import DlcError


def test_cache_dir_follows_xdg_and_is_created_on_demand(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "dlclassics"
    assert not cache_root().exists()  # asking where it is creates nothing
    folder = cache_dir("shapes", "v1")
    assert folder == tmp_path / "xdg" / "dlclassics" / "shapes" / "v1"
    assert folder.is_dir()
    assert cache_dir("shapes", "v1") == folder  # a second call finds it
    assert user_cache_dir() == cache_root() / "data"


def test_cache_dir_defaults_to_the_home_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("DLC_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / ".cache" / "dlclassics"
    assert resolve_data_root() == tmp_path / ".cache" / "dlclassics" / "data"


def test_a_cache_folder_that_cannot_be_made_is_one_error_naming_it(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    with pytest.raises(DlcError) as excinfo:
        cache_dir("shapes")
    assert str(excinfo.value).startswith(f"{tmp_path}/file/dlclassics/shapes: cannot create")
    assert "\n" not in str(excinfo.value)
