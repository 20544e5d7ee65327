#!/usr/bin/env bash
# Helpers for the test scripts' own tools; source it:
#
#   . scripts/packages.sh
#   lk_apt_install TAG PACKAGE...   installs the Debian packages named (only
#                                   those the caller found missing) with apt-get
#                                   when run as root; otherwise says what to
#                                   install and fails
#   lk_venv DIR REQUIREMENTS        makes the virtual environment DIR from a
#                                   pinned requirements file, once: an
#                                   interrupted install is made again next time

lk_apt_install() {
  local tag=$1
  shift
  [ "$#" -gt 0 ] || return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    printf '[%s] installing %s (apt-get)\n' "$tag" "$*" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 || {
      apt-get update -qq >/dev/null
      apt-get install -y -qq --no-install-recommends "$@" >/dev/null
    }
  else
    printf '[%s] missing: %s: install these Debian packages (apt-get install %s), or run this as root\n' "$tag" "$*" "$*" >&2
    return 1
  fi
}

lk_venv() {
  local venv=$1 requirements=$2
  if [ ! -f "$venv/.complete" ]; then
    printf '== installing %s into %s\n' "$requirements" "$venv" >&2
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    touch "$venv/.complete"
  fi
}
