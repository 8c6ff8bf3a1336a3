"""Text genotype matrices and phenotype tables (dnacnn.io.genotype_matrix, phenotypes, table_layout):
layouts, values, one-line errors."""

import gzip

import numpy as np
import pytest
from genotype_files import WHEAT, error, needs_wheat, write

from dnacnn.errors import InputError
from dnacnn.io.genotype import read_genotypes, read_phenotypes


@needs_wheat
def test_wheat_genotypes():
    g = read_genotypes(WHEAT / "wheat.X")
    assert g.codes.shape == (599, 1279) and g.codes.dtype == np.uint8
    assert g.ids[:2] == ["ind1", "ind2"] and g.ids[-1] == "ind599" and not g.has_ids
    assert g.markers[0] == "m1" and g.markers[-1] == "m1279"
    # counted with awk: line 1 has 480 zeros and 799 ones; line 599 has 499 zeros, 780 ones
    np.testing.assert_array_equal(np.bincount(g.codes[0], minlength=4), [480, 799, 0, 0])
    np.testing.assert_array_equal(np.bincount(g.codes[598], minlength=4), [499, 780, 0, 0])
    np.testing.assert_array_equal(g.codes[0, :10], [0, 1, 1, 1, 1, 0, 1, 1, 1, 1])
    assert g.codes[598, 0] == 1 and g.codes[598, -1] == 1


@needs_wheat
def test_wheat_phenotypes():
    p = read_phenotypes(WHEAT / "wheat.Y", n_expected=599, genotype_path=WHEAT / "wheat.X")
    assert p.values.shape == (599, 4) and p.values.dtype == np.float32
    assert p.names == ["trait1", "trait2", "trait3", "trait4"] and p.ids is None
    assert p.values[0, 0] == np.float32(1.67162948031973)
    assert p.values[-1, 3] == np.float32(0.381317383004178)
    picked = read_phenotypes(WHEAT / "wheat.Y", traits=["2", "trait4", 1])
    assert picked.names == ["trait2", "trait4", "trait1"]
    np.testing.assert_array_equal(picked.values, p.values[:, [1, 3, 0]])


@needs_wheat
def test_phenotype_count_must_match_genotypes():
    assert error(read_phenotypes, WHEAT / "wheat.Y", n_expected=600, genotype_path="geno.txt") == (
        f"{WHEAT}/wheat.Y: 599 phenotype rows but geno.txt has 600 individuals; give one row per genotyped "
        "individual in the same order, or ids in the first column of both files"
    )


def test_ids_header_missing_and_separators(tmp_path):
    text = "id,snp1,snp2,snp3\nA,0,1,2\nB,NA,.,\nC,2,nan,1.0\n"
    g = read_genotypes(write(tmp_path, "g.csv", text))
    assert g.ids == ["A", "B", "C"] and g.markers == ["snp1", "snp2", "snp3"] and g.has_ids
    np.testing.assert_array_equal(g.codes, [[0, 1, 2], [3, 3, 3], [2, 3, 1]])
    tsv = read_genotypes(write(tmp_path, "g.tsv", text.replace(",", "\t")))
    np.testing.assert_array_equal(tsv.codes, g.codes)
    spaces = read_genotypes(write(tmp_path, "g.txt", "A  0 1   2\n B\t2 NA 1\n"))
    np.testing.assert_array_equal(spaces.codes, [[0, 1, 2], [2, 3, 1]])
    assert spaces.ids == ["A", "B"] and spaces.markers == ["m1", "m2", "m3"]


def test_r_style_header_without_id_name(tmp_path):
    g = read_genotypes(write(tmp_path, "g.txt", "m1 m2\nA 0 1\nB 1 2\n"))
    assert g.ids == ["A", "B"] and g.markers == ["m1", "m2"]
    g = read_genotypes(write(tmp_path, "g.csv", '"","rs1","rs2"\n"A",0,1\n"B",2,1\n'))
    assert g.ids == ["A", "B"] and g.markers == ["rs1", "rs2"]
    np.testing.assert_array_equal(g.codes, [[0, 1], [2, 1]])


def test_forcing_layout(tmp_path):
    path = write(tmp_path, "g.txt", "10 20 30\n101 0 1\n102 2 1\n")
    g = read_genotypes(path, header=True, ids=True)
    assert g.ids == ["101", "102"] and g.markers == ["20", "30"]
    np.testing.assert_array_equal(g.codes, [[0, 1], [2, 1]])
    assert error(read_genotypes, path) == (
        f"{path}:1: column 1 (marker m1): '10' is not a genotype; use 0, 1 or 2 (copies of the counted allele), "
        "or NA for missing, or read column 1 as individual ids (ids=True)"
    )
    with pytest.raises(InputError, match="'0,1' is not a genotype"):
        read_genotypes(write(tmp_path, "s2.txt", "1 2\n1 0,1\n"), sep=" ")


def test_windows_line_endings(tmp_path):
    g = read_genotypes(write(tmp_path, "g.csv", "id,a,b\r\nx,0,1\r\ny,2,\r\n"))
    assert g.ids == ["x", "y"] and g.markers == ["a", "b"]
    np.testing.assert_array_equal(g.codes, [[0, 1], [2, 3]])
    g = read_genotypes(write(tmp_path, "g.txt", "0 1 2\r\n2 1 0\r\n"))
    np.testing.assert_array_equal(g.codes, [[0, 1, 2], [2, 1, 0]])
    p = read_phenotypes(write(tmp_path, "p.txt", "id yield\r\nx 1.5\r\ny NA\r\n"))
    assert p.ids == ["x", "y"] and p.names == ["yield"]
    np.testing.assert_array_equal(p.values, [[1.5], [np.nan]])


def test_gzip_and_blank_lines(tmp_path):
    path = tmp_path / "g.txt.gz"
    path.write_bytes(gzip.compress(b"0 1\n\n2 2\n"))
    np.testing.assert_array_equal(read_genotypes(path).codes, [[0, 1], [2, 2]])


@pytest.mark.parametrize(
    "text, message",
    [
        ("0 1 2\n1 3 0\n", "g.txt:2: column 2 (marker m2): '3' is not a genotype"),
        ("0 1 2\n1 -1 0\n", "g.txt:2: column 2 (marker m2): '-1' is not a genotype"),
        ("0 1 2\n1 -9 0\n", "g.txt:2: column 2 (marker m2): '-9' is not a genotype"),
        ("0 1 2\n\n1 0 0.5\n", "g.txt:3: column 3 (marker m3): '0.5' is not a genotype"),
        ("0 1 2\n1 AA 0\n", "g.txt:2: column 2 (marker m2): 'AA' is not a genotype"),
        ("id a b\nx 0 1\ny 1 x\n", "g.txt:3: column 3 (marker b): 'x' is not a genotype"),
    ],
)
def test_bad_genotype_values(tmp_path, text, message):
    path = write(tmp_path, "g.txt", text)
    assert error(read_genotypes, path) == (
        f"{tmp_path}/{message}; use 0, 1 or 2 (copies of the counted allele), or NA for missing"
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("0 1 2\n1 0\n2 2 2\n", "g.txt:2: 2 fields, but line 1 has 3"),
        ("0 1 2\n1 0 1 1\n", "g.txt:2: 4 fields, but line 1 has 3"),
        ("0 1 2\n1 0 1\n1 1 NA\n1 0\n", "g.txt:4: 2 fields, but line 1 has 3"),
        ("0,1,2\n1,0,1,\n", "g.txt:2: 4 fields, but line 1 has 3"),
    ],
)
def test_ragged_genotype_rows(tmp_path, text, message):
    path = write(tmp_path, "g.txt", text)
    assert error(read_genotypes, path) == f"{tmp_path}/{message}; give every line the same number of columns"


def test_empty_and_header_only_files(tmp_path):
    path = write(tmp_path, "e.txt", "")
    assert error(read_genotypes, path) == f"{path}: file is empty; give a file with records"
    path = write(tmp_path, "b.txt", "\n  \n")
    assert error(read_genotypes, path) == f"{path}: file is empty; give a file with one individual per line"
    path = write(tmp_path, "h.txt", "id snp1 snp2\n")
    assert error(read_genotypes, path) == f"{path}: only a header line, no data; add one line per individual"
    path = write(tmp_path, "h2.txt", "id a b c\nx 0 1\n")
    assert (
        error(read_genotypes, path) == f"{path}:1: header has 4 names but line 2 has 3 fields; give one name per column"
    )


def test_phenotypes_matched_by_id(tmp_path):
    geno_ids = ["a", "b", "c"]
    path = write(tmp_path, "p.tsv", "id\th\tw\nc\t3\t30\na\t1\t\nb\t2\t20\n")
    p = read_phenotypes(path, genotype_ids=geno_ids, genotype_path="g.txt")
    assert p.ids == geno_ids and p.names == ["h", "w"]
    np.testing.assert_array_equal(p.values, [[1, np.nan], [2, 20], [3, 30]])
    assert read_phenotypes(path, traits=["w"], genotype_ids=geno_ids).values[:, 0].tolist()[1:] == [20, 30]
    msg = error(read_phenotypes, path, genotype_ids=["a", "b", "d", "e"], genotype_path="g.txt")
    assert msg == (
        f"{path}: 2 individuals of g.txt have no row here (d, e) and 1 ids here are not in g.txt (c); "
        "give both files the same individuals"
    )
    dup = write(tmp_path, "d.tsv", "id\th\na\t1\na\t2\n")
    assert error(read_phenotypes, dup, genotype_ids=["a"]) == (
        f"{dup}: individual 'a' appears more than once; give each individual one row"
    )


def test_phenotype_errors(tmp_path):
    path = write(tmp_path, "p.txt", "1.0 2.0\n3.0 high\n")
    assert error(read_phenotypes, path) == f"{path}:2: column 2: 'high' is not a number; use numbers, or NA for missing"
    path = write(tmp_path, "p2.txt", "1.0 2.0\n3.0\n")
    assert (
        error(read_phenotypes, path)
        == f"{path}:2: 1 fields, but line 1 has 2; give every line the same number of columns"
    )
    path = write(tmp_path, "p3.txt", "yield height\n1 2\n")
    assert error(read_phenotypes, path, traits=["weight"]) == (
        f"{path}: no trait 'weight'; choose one of yield, height, or a trait number 1..2"
    )
    assert (
        error(read_phenotypes, path, traits=[3])
        == f"{path}: no trait '3'; choose one of yield, height, or a trait number 1..2"
    )
    assert read_phenotypes(path, traits=["height", "1"]).values.tolist() == [[2, 1]]
    assert error(read_phenotypes, path, n_expected=2) == (
        f"{path}: 1 phenotype rows but the genotype matrix has 2 individuals; give one row per genotyped "
        "individual in the same order, or ids in the first column of both files"
    )


def test_token_spellings(tmp_path):
    path = write(tmp_path, "g.txt", "0 1 2 NA na NaN nan NAN .\n1.0 2.0 0.0 1.00 +1 2e0 0 1 2")  # no final newline
    np.testing.assert_array_equal(
        read_genotypes(path).codes, [[0, 1, 2, 3, 3, 3, 3, 3, 3], [1, 2, 0, 1, 1, 2, 0, 1, 2]]
    )
    path = write(tmp_path, "q.csv", '\ufeff"id","a","b"\n"x","1",""\n"y"," 2 ","NA"\n')
    g = read_genotypes(path)
    assert g.ids == ["x", "y"] and g.markers == ["a", "b"]
    np.testing.assert_array_equal(g.codes, [[1, 3], [2, 3]])


@pytest.mark.parametrize("block_bytes", [1, 7, 64])
def test_small_blocks_give_the_same_matrix_and_line_numbers(tmp_path, monkeypatch, block_bytes):
    import dnacnn.io.genotype_matrix as genotype_matrix

    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, size=(9, 5))
    tokens = np.array(["0", "1", "2", "NA"])[codes]
    lines = ["\r\n", "id\tm1\tm2\tm3\tm4\tm5\r\n"] + [f"i{r}\t" + "\t".join(t) + "\r\n" for r, t in enumerate(tokens)]
    lines.insert(5, "\r\n")  # a blank line inside the data
    path = write(tmp_path, "g.tsv", "".join(lines))
    monkeypatch.setattr(genotype_matrix, "_TEXT_BLOCK_BYTES", block_bytes)
    g = read_genotypes(path)
    assert g.ids == [f"i{r}" for r in range(9)] and g.markers == ["m1", "m2", "m3", "m4", "m5"]
    np.testing.assert_array_equal(g.codes, codes)
    bad = path.read_text().replace("i7\t", "i7\t5", 1)
    path.write_text(bad)
    assert error(read_genotypes, path).startswith(f"{path}:11: column 2 (marker m1): '5")
