#!/usr/bin/env bash
# Install, from Debian's packages, the toolchains that the tests of other languages need, when missing.
# `make test` calls it (CI runs as root on a clean machine); a tool that cannot be installed fails the run.
#   scripts/ensure_tools.sh node go chromium java-clients
set -euo pipefail

packages=()
for tool in "$@"; do
  case "$tool" in
    node) { command -v node && command -v npm; } >/dev/null 2>&1 || packages+=(nodejs npm) ;;
    go) command -v go >/dev/null 2>&1 || packages+=(golang-go) ;;
    chromium) [ -x /usr/bin/chromium ] || packages+=(chromium) ;;
    java-clients)
      command -v javac >/dev/null 2>&1 || packages+=(default-jdk-headless)
      for jar in httpclient httpmime json-simple; do
        [ -e "/usr/share/java/$jar.jar" ] || packages+=("lib$jar-java")
      done ;;
    *) echo "ensure_tools: unknown tool '$tool'" >&2; exit 2 ;;
  esac
done

if [ "${#packages[@]}" -gt 0 ]; then
  echo "installing from Debian's packages: ${packages[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "ensure_tools: need root to install ${packages[*]} (or install them yourself)" >&2; exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi
