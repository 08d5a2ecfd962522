#!/usr/bin/env python3
"""Prints the SQL that records one migration in supabase_migrations.schema_migrations.

The row is what the Supabase CLI writes (supabase/cli pkg/migration/file.go): version = the
leading digits of the file name, name = the rest without `.sql`, statements = the file split into
statements the way its parser (pkg/parser) splits them: on `;` outside quotes, dollar quotes,
comments and parentheses, each statement trimmed, its trailing `;` removed, empty ones dropped.

Usage: migration_record.py supabase/migrations/20261203000000_tenancy.sql
"""

import os
import re
import secrets
import sys


def split_statements(sql: str) -> list[str]:
    stmts: list[str] = []
    start = 0
    i = 0
    n = len(sql)
    depth = 0  # parentheses: a ';' inside (...) (e.g. BEGIN ATOMIC bodies) does not split
    while i < n:
        c = sql[i]
        if c == "-" and sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
            continue
        if c == "/" and sql.startswith("/*", i):
            level, i = 1, i + 2
            while i < n and level:
                if sql.startswith("/*", i):
                    level, i = level + 1, i + 2
                elif sql.startswith("*/", i):
                    level, i = level - 1, i + 2
                else:
                    i += 1
            continue
        if c in "'\"":
            i += 1
            while i < n:
                if sql[i] == c:
                    if i + 1 < n and sql[i + 1] == c:
                        i += 2
                        continue
                    break
                i += 1
            i += 1
            continue
        if c == "$":
            m = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$").match(sql, i)
            if m:
                end = sql.find(m.group(0), m.end())
                i = n if end < 0 else end + len(m.group(0))
                continue
        if c == "\\":
            i += 2
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth = max(0, depth - 1)
        elif c == ";" and depth == 0:
            stmts.append(sql[start : i + 1])
            start = i + 1
        i += 1
    stmts.append(sql[start:])
    out = []
    for s in stmts:
        s = s.rstrip(";").strip()
        if s:
            out.append(s)
    return out


def dollar_quote(text: str) -> str:
    while True:
        tag = "$m" + secrets.token_hex(6) + "$"
        if tag not in text:
            return tag + text + tag


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    path = sys.argv[1]
    m = re.match(r"^([0-9]+)_(.*)\.sql$", os.path.basename(path))
    if not m:
        print(f"not a migration file name: {path}", file=sys.stderr)
        return 1
    with open(path, encoding="utf-8") as f:
        stmts = split_statements(f.read())
    array = "array[" + ", ".join(dollar_quote(s) for s in stmts) + "]::text[]"
    print(
        "insert into supabase_migrations.schema_migrations(version, name, statements) values ("
        f"{dollar_quote(m.group(1))}, {dollar_quote(m.group(2))}, {array});"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
