"""Which path lies within which, by string work (pathtext.within): the one answer every check
and admin tool uses for "is this inside that installation"."""

from __future__ import annotations

from condashare.pathtext import within


def test_within_is_the_path_itself_or_below_it_never_a_sibling_with_a_longer_name() -> None:
    assert within("/nfs/cpkgs/linux", "/nfs/cpkgs/linux")
    assert within("/nfs/cpkgs/linux/envs/isis", "/nfs/cpkgs/linux")
    assert within("/nfs/cpkgs/linux/envs/isis", "/nfs/cpkgs/linux/")  # trailing slash on top
    assert not within("/nfs/cpkgs/linux-arm/envs/isis", "/nfs/cpkgs/linux")
    assert not within("/nfs/cpkgs", "/nfs/cpkgs/linux")
    assert within("/anything", "/")
