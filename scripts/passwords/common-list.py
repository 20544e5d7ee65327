#!/usr/bin/env python3
"""Builds crates/core/data/common-passwords.lkcp, the common-password list
bundled into latchkey, from Django's list of 20,000 common passwords.

Source: Django's `django/contrib/auth/common-passwords.txt.gz` (BSD-3-Clause,
see crates/core/data/README.md), itself the list of the 20,000 most common
passwords of the Pwned Passwords corpus, unhexed, lowercased and
deduplicated by Royce Williams. Get it without network access to anything
but the package index:

    pip download --no-deps -d /tmp/django django==5.2.19
    python3 scripts/passwords/common-list.py /tmp/django/django-5.2.19-py3-none-any.whl \
        > crates/core/data/common-passwords.lkcp

The output keeps the entries of at least MIN_CHARS characters (shorter ones
are refused by the length rule anyway), lowercased and stripped, sorted by
their UTF-8 bytes and front-coded: after the header line `LKCP1 <count>`,
each entry is one byte giving how many leading bytes it shares with the
previous entry (at most 255), then the rest of its bytes, then a newline.
"""

import gzip
import io
import sys
import zipfile

MIN_CHARS = 8
MEMBER = "django/contrib/auth/common-passwords.txt.gz"


def read_source(path):
    if path.endswith(".whl") or path.endswith(".zip"):
        with zipfile.ZipFile(path) as z:
            raw = z.read(MEMBER)
    else:
        with open(path, "rb") as f:
            raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8").splitlines()


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    words = set()
    for line in read_source(sys.argv[1]):
        w = line.strip().lower()
        if len(w) >= MIN_CHARS and "\n" not in w:
            words.add(w.encode("utf-8"))
    out = io.BytesIO()
    out.write(b"LKCP1 %d\n" % len(words))
    prev = b""
    for w in sorted(words):
        shared = 0
        while shared < min(len(prev), len(w), 255) and prev[shared] == w[shared]:
            shared += 1
        out.write(bytes([shared]) + w[shared:] + b"\n")
        prev = w
    sys.stdout.buffer.write(out.getvalue())


if __name__ == "__main__":
    main()
