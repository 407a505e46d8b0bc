"""The one place an identifier a user chose (a metadata table or column name) enters SQL text.

Values are always bound as $parameters. Identifiers cannot be: they are first checked against
the catalog (the table's actual columns, the registered metadata tables), then quoted here.
"""
from __future__ import annotations

import re

# What `lossdb annotate --name` accepts for a new table: a plain SQL name.
TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def quote_identifier(name: str) -> str:
    """`name` as a quoted SQL identifier: "name", with embedded double quotes doubled."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise ValueError(f"not an identifier: {name!r}")
    return '"' + name.replace('"', '""') + '"'
