"""dnacnn.unique_ids: the duplicate-ID check of encode, in memory or spilled to disk by hash."""

from __future__ import annotations

import pytest

from dnacnn import unique_ids
from dnacnn.errors import InputError
from dnacnn.unique_ids import UniqueIds


def check(tmp_path, ids: list[str], batch: int = 3):
    (tmp_path / "ids.txt").write_text("".join(f"{i}\n" for i in ids))
    seen = UniqueIds(tmp_path / "scratch")
    for start in range(0, len(ids), batch):
        seen.add(ids[start : start + batch])
    try:
        seen.check(tmp_path / "ids.txt", "in.fa")
    finally:
        assert not (tmp_path / "scratch").exists()  # the spill files never outlive the check


@pytest.mark.parametrize("block", [1 << 20, 4], ids=["in memory", "spilled"])
def test_unique_ids_pass_and_the_first_repeat_is_named(tmp_path, monkeypatch, block):
    monkeypatch.setattr(unique_ids, "BLOCK", block)
    ids = [f"chr1:{i}-{i + 200}" for i in range(50)]
    check(tmp_path, ids)
    dup = ids[:30] + [ids[7]] + ids[30:40] + [ids[2], ids[7]]
    with pytest.raises(InputError, match=r"in.fa:record 31: duplicated ID 'chr1:7-207' \(also record 8\)"):
        check(tmp_path, dup)


def test_a_hash_collision_is_not_a_duplicate(tmp_path, monkeypatch):
    monkeypatch.setattr(unique_ids, "BLOCK", 2)
    monkeypatch.setattr(unique_ids, "hash", lambda s: 42 if s in ("a", "b") else len(s), raising=False)
    check(tmp_path, ["a", "xx", "b", "yyy"])  # 'a' and 'b' share a hash, nothing is repeated
    with pytest.raises(InputError, match="record 4: duplicated ID 'a' \\(also record 1\\)"):
        check(tmp_path, ["a", "xx", "b", "a"])


def test_an_id_with_a_line_separator_is_one_record(tmp_path):
    # ids.txt is split on newlines only: U+2028 inside an ID does not shift the records
    check(tmp_path, ["a\u2028b", "a", "b"])
    with pytest.raises(InputError, match="record 3"):
        check(tmp_path, ["a\u2028b", "a", "a\u2028b"])


@pytest.mark.parametrize("block", [1 << 20, 4], ids=["in memory", "spilled"])
def test_a_repeat_within_a_batch_stops_the_hashing_and_the_first_repeat_is_still_named(tmp_path, monkeypatch, block):
    """Found by an independent hostile corpus: 30M copies of one ID filled one spill bucket (2.6 GB
    at the check).  A repeat inside a batch is seen as it is added and later rows are not hashed;
    the record named is still the first repeat in store order, even one across batches."""
    monkeypatch.setattr(unique_ids, "BLOCK", block)
    seen = UniqueIds(tmp_path / "scratch")
    seen.add(["r", "r", "r"])
    for _ in range(1000):
        seen.add(["r"] * 3)
    assert seen.n == 3  # the rows after the first batch were not hashed
    with pytest.raises(InputError, match=r"record 2: duplicated ID 'r' \(also record 1\)"):
        check(tmp_path, ["r"] * 3003)
    with pytest.raises(InputError, match=r"record 4: duplicated ID 'a' \(also record 1\)"):
        check(tmp_path, ["a", "b", "c", "a", "x", "x", "y", "y", "y"])
