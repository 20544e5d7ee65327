# Sourced by test scripts: `lk_debian_packages WHO PACKAGE...` installs the
# Debian packages given (those found missing) with apt-get when run as root,
# else names them and fails. WHO prefixes its messages.
lk_debian_packages() {
  local who=$1
  shift
  [ "$#" -gt 0 ] || return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    printf '[%s] installing %s (apt-get)\n' "$who" "$*" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 || {
      apt-get update -qq >/dev/null
      apt-get install -y -qq --no-install-recommends "$@" >/dev/null
    }
  else
    printf '[%s] missing: %s: install these Debian packages (apt-get install %s), or run this as root\n' \
      "$who" "$*" "$*" >&2
    return 1
  fi
}
