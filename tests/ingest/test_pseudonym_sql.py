"""The in-DuckDB HMAC equals Python's hmac for short, long (> 64-byte) and unicode keys and values."""

from __future__ import annotations

import duckdb
import pytest

from als_eca.ingest.pseudonym import hmac_pads, pseudonym_sql, pseudonymise


@pytest.mark.parametrize("key", [b"k", b"test-key-not-secret", b"x" * 64, b"y" * 200, "키".encode()])
def test_sql_pseudonyms_equal_python_hmac(key):
    values = ["NR-PMS-101-0001", "  NR-PMS-999-12345 ", "환자", ""]
    ipad, opad = hmac_pads(key)
    with duckdb.connect() as con:
        got = con.execute(
            f"SELECT {pseudonym_sql('v')} FROM (SELECT unnest($values) AS v, generate_subscripts($values, 1) AS i) "
            "ORDER BY i",
            {"values": values, "hmac_ipad": ipad, "hmac_opad": opad},
        ).fetchall()
    assert [g[0] for g in got] == pseudonymise(values, key)
    assert len({g[0] for g in got}) == len(values)


def test_the_enum_lookup_equals_python_hmac_for_known_and_unknown_patients():
    from als_eca.ingest.pseudonym import pseudonym_lookup_sql

    key = b"test-key-not-secret"
    known = ["NR-PMS-101-0001", "NR-PMS-101-0002", "O'Brien-7"]
    values = ["NR-PMS-101-0002", " NR-PMS-101-0001 ", "NR-PMS-999-0009", "O'Brien-7", None]
    sql, params = pseudonym_lookup_sql("v", known, key)
    assert "ENUM(" in sql
    with duckdb.connect() as con:
        got = con.execute(
            f"SELECT {sql} FROM (SELECT unnest($values) AS v, generate_subscripts($values, 1) AS i) ORDER BY i",
            {"values": values, **params},
        ).fetchall()
    expected = pseudonymise([v for v in values if v is not None], key) + [None]
    assert [g[0] for g in got] == expected
    # No known patients (no dm.csv): every value is hashed in SQL.
    sql, params = pseudonym_lookup_sql("v", [], key)
    assert "ENUM(" not in sql
