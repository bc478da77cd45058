#!/usr/bin/env python3
"""Prints `export NAME=VALUE` lines for the environment variables a profile
names (client_secret_env, password_env), taking the values from a realm file
(default fixtures/realm.toml): the secrets of the targets kensa starts itself.

    eval "$(python3 scripts/profile-env.py fixtures/profiles/node-oidc-provider.toml)"

For a real deployment, set the variables from your secret store instead.
"""
import shlex
import sys
import tomllib
from pathlib import Path


def realm_entries(path):
    doc = tomllib.loads(path.read_text())
    clients, users = list(doc.get("clients", [])), list(doc.get("users", []))
    for inc in doc.get("include", []):
        extra = tomllib.loads((path.parent / inc).read_text())
        clients += extra.get("clients", [])
        users += extra.get("users", [])
    return {c["client_id"]: c for c in clients}, {u["username"]: u for u in users}


def main(argv):
    if len(argv) not in (2, 3):
        sys.exit("usage: profile-env.py PROFILE.toml [REALM.toml]")
    profile = tomllib.loads(Path(argv[1]).read_text())
    clients, users = realm_entries(Path(argv[2] if len(argv) == 3 else "fixtures/realm.toml"))
    for c in profile.get("clients", []):
        if "client_secret_env" in c:
            secret = clients.get(c["client_id"], {}).get("client_secret")
            if secret is None:
                sys.exit(f"the realm has no secret for client {c['client_id']!r}")
            print(f"export {c['client_secret_env']}={shlex.quote(secret)}")
    for u in profile.get("users", []):
        if "password_env" in u:
            password = users.get(u["username"], {}).get("password")
            if password is None:
                sys.exit(f"the realm has no password for user {u['username']!r}")
            print(f"export {u['password_env']}={shlex.quote(password)}")


if __name__ == "__main__":
    main(sys.argv)
