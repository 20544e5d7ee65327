#!/usr/bin/env python3
"""Generates crates/server/tests/fixtures/import/*: accounts whose password
hashes were made by each format's own tool or library, for
crates/server/tests/user_import.rs. The fixtures are committed, so CI needs
none of these tools; run this script (scripts/import-fixtures/generate.sh
makes the venv) to make them again.

Tools: bcrypt (pyca), passlib, argon2-cffi, Django's hashers, Werkzeug,
pwdlib (what fastapi-users uses), Node's crypto.scrypt as better-auth calls
it (better_auth.mjs), Firebase's published scrypt example (made by
firebase/scrypt, checked here by recomputing it), and Keycloak's credential
format computed with hashlib/argon2-cffi. Costs are low on purpose: the
tests hash in debug builds; the formats, not the costs, are under test.
"""
import base64
import hashlib
import json
import os
import subprocess
import sys

import argon2.low_level
import bcrypt
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from passlib.hash import bcrypt as passlib_bcrypt
from passlib.hash import pbkdf2_sha1, pbkdf2_sha256, pbkdf2_sha512, scrypt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher
from werkzeug.security import generate_password_hash

import django
from django.conf import settings

settings.configure(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"])
django.setup()
from django.contrib.auth.hashers import PBKDF2PasswordHasher, PBKDF2SHA1PasswordHasher  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "crates", "server", "tests", "fixtures", "import")
b64 = lambda b: base64.b64encode(b).decode()


def firebase_scrypt(password, salt_b64, signer_key_b64, sep_b64, rounds, mem_cost):
    """Firebase's modified scrypt: scrypt(password, salt + separator, N=2^mem_cost,
    r=rounds, p=1, 32 bytes), then the signer key encrypted with AES-256-CTR
    under that key and a zero IV."""
    salt = base64.b64decode(salt_b64) + base64.b64decode(sep_b64)
    key = hashlib.scrypt(password.encode(), salt=salt, n=2**mem_cost, r=rounds, p=1, dklen=32)
    enc = Cipher(algorithms.AES(key), modes.CTR(b"\0" * 16)).encryptor()
    return b64(enc.update(base64.b64decode(signer_key_b64)) + enc.finalize())


# Firebase's published example (firebase/scrypt README): made by its own tool.
FB = dict(
    signer_key="jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
    sep="Bw==", rounds=8, mem_cost=14, salt="42xEC+ixf3L2lw==", password="user1password",
    hash="lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==",
)
assert firebase_scrypt(FB["password"], FB["salt"], FB["signer_key"], FB["sep"], FB["rounds"], FB["mem_cost"]) == FB["hash"]


def better_auth(password):
    out = subprocess.run(["node", os.path.join(HERE, "better_auth.mjs"), password],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["hash"]


def user(fmt, tool, password, password_hash, **extra):
    return {"email": f"{fmt}@example.com", "email_verified": True, "password_hash": password_hash,
            "name": f"From {tool}", "test_format": fmt, "test_password": password, **extra}


def main():
    rows = [
        user("bcrypt-2b", "pyca bcrypt", "bcrypt 2b pw", bcrypt.hashpw(b"bcrypt 2b pw", bcrypt.gensalt(5)).decode()),
        user("bcrypt-2a", "passlib", "bcrypt 2a pw", passlib_bcrypt.using(ident="2a", rounds=5).hash("bcrypt 2a pw")),
        user("bcrypt-2y", "passlib", "bcrypt 2y pw", passlib_bcrypt.using(ident="2y", rounds=5).hash("bcrypt 2y pw")),
        user("scrypt-phc", "passlib", "scrypt phc pw", scrypt.using(rounds=10, block_size=8, parallelism=1).hash("scrypt phc pw")),
        user("firebase-scrypt", "firebase/scrypt", FB["password"],
             f"$firebase-scrypt$ln={FB['mem_cost']},r={FB['rounds']}${FB['signer_key'].rstrip('=')}"
             f"${FB['sep'].rstrip('=')}${FB['salt'].rstrip('=')}${FB['hash'].rstrip('=')}"),
        user("pbkdf2-sha1", "passlib", "pbkdf2 sha1 pw", pbkdf2_sha1.using(rounds=2000).hash("pbkdf2 sha1 pw")),
        user("pbkdf2-sha256", "passlib", "pbkdf2 sha256 pw", pbkdf2_sha256.using(rounds=2000).hash("pbkdf2 sha256 pw")),
        user("pbkdf2-sha512", "passlib", "pbkdf2 sha512 pw", pbkdf2_sha512.using(rounds=2000).hash("pbkdf2 sha512 pw")),
        user("django-pbkdf2-sha256", "Django", "django pw",
             PBKDF2PasswordHasher().encode("django pw", PBKDF2PasswordHasher().salt(), iterations=10000)),
        user("django-pbkdf2-sha1", "Django", "django sha1 pw",
             PBKDF2SHA1PasswordHasher().encode("django sha1 pw", PBKDF2SHA1PasswordHasher().salt(), iterations=10000)),
        user("werkzeug-pbkdf2", "Werkzeug", "werkzeug pw", generate_password_hash("werkzeug pw", "pbkdf2:sha256:10000")),
        user("werkzeug-scrypt", "Werkzeug", "werkzeug scrypt pw", generate_password_hash("werkzeug scrypt pw", "scrypt:1024:8:1")),
        user("better-auth", "better-auth (Node crypto.scrypt)", "better auth pw", better_auth("better auth pw")),
        user("better-auth-nfkc", "better-auth (Node crypto.scrypt)", "ﬁancé", better_auth("ﬁancé")),
        user("fastapi-users-argon2", "pwdlib", "fastapi argon2 pw",
             PasswordHash((Argon2Hasher(time_cost=2, memory_cost=8192, parallelism=1),)).hash("fastapi argon2 pw")),
        user("fastapi-users-bcrypt", "pwdlib", "fastapi bcrypt pw",
             PasswordHash((BcryptHasher(rounds=5),)).hash("fastapi bcrypt pw")),
    ]
    with open(os.path.join(OUT, "formats.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")

    # Auth0's bulk export of password hashes (NDJSON, bcrypt under `passwordHash`).
    auth0 = {"_id": {"$oid": "60425dc43519d90068f82973"}, "email": "auth0@example.com", "email_verified": True,
             "passwordHash": bcrypt.hashpw(b"auth0 pw", bcrypt.gensalt(5)).decode().replace("$2b$", "$2b$", 1),
             "password_set_date": {"$date": "2021-03-05T16:38:28.915Z"}, "tenant": "example",
             "connection": "Username-Password-Authentication", "_tmp_is_unique": True,
             "test_format": "auth0", "test_password": "auth0 pw"}
    with open(os.path.join(OUT, "auth0-export.jsonl"), "w") as f:
        f.write(json.dumps(auth0) + "\n")

    # A Keycloak realm export (kc.sh export --realm): users with pbkdf2 and argon2 credentials.
    def kc_pbkdf2(alg, password, iterations):
        salt = os.urandom(16)
        digest = {"pbkdf2": "sha1", "pbkdf2-sha256": "sha256", "pbkdf2-sha512": "sha512"}[alg]
        value = hashlib.pbkdf2_hmac(digest, password.encode(), salt, iterations, 64)
        return ({"value": b64(value), "salt": b64(salt), "additionalParameters": {}},
                {"hashIterations": iterations, "algorithm": alg, "additionalParameters": {}})

    def kc_argon2(password):
        salt = os.urandom(16)
        value = argon2.low_level.hash_secret_raw(password.encode(), salt, time_cost=5, memory_cost=7168,
                                                 parallelism=1, hash_len=32, type=argon2.low_level.Type.ID)
        return ({"value": b64(value), "salt": b64(salt), "additionalParameters": {}},
                {"hashIterations": 5, "algorithm": "argon2",
                 "additionalParameters": {"hashLength": ["32"], "memory": ["7168"], "type": ["id"],
                                          "version": ["1.3"], "parallelism": ["1"]}})

    def kc_user(name, password, cred, roles):
        secret, data = cred
        return {"id": name, "createdTimestamp": 1700000000000, "username": name, "enabled": True,
                "email": f"{name}@example.com", "emailVerified": True, "firstName": "Kay", "lastName": name,
                "credentials": [{"id": name + "-cred", "type": "password", "userLabel": "My password",
                                 "createdDate": 1700000000000, "secretData": json.dumps(secret),
                                 "credentialData": json.dumps(data)}],
                "realmRoles": roles, "notBefore": 0, "groups": [], "test_password": password}

    realm = {"id": "example", "realm": "example", "enabled": True, "users": [
        kc_user("kc-sha256", "keycloak sha256 pw", kc_pbkdf2("pbkdf2-sha256", "keycloak sha256 pw", 27500),
                ["default-roles-example", "offline_access", "uma_authorization"]),
        kc_user("kc-sha512", "keycloak sha512 pw", kc_pbkdf2("pbkdf2-sha512", "keycloak sha512 pw", 10000),
                ["default-roles-example", "moderator"]),
        kc_user("kc-sha1", "keycloak sha1 pw", kc_pbkdf2("pbkdf2", "keycloak sha1 pw", 10000), []),
        kc_user("kc-argon2", "keycloak argon2 pw", kc_argon2("keycloak argon2 pw"), []),
    ]}
    with open(os.path.join(OUT, "keycloak-realm.json"), "w") as f:
        json.dump(realm, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
