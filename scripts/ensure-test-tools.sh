#!/bin/sh
# What `npm test` needs beyond npm packages, from Debian's packages (run by the pretest script):
#   chromium  (/usr/bin/chromium) the dashboard's browser tests drive it with playwright-core
#   iproute2  (ip)                the partition test makes network namespaces with it (as root)
# Installs whatever is missing when we may (root, with apt-get); otherwise says what to do and
# goes on: the partition test then reports itself skipped with the reason, the browser tests fail.
set -eu
missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-test-tools: installing Debian's$missing with apt-get" >&2
  apt-get update -qq
  # shellcheck disable=SC2086 # one word per package
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
  exit 0
fi
echo "ensure-test-tools: missing$missing, and this is not root with apt-get:" >&2
echo "  install them (sudo apt-get install$missing); test/dashboard needs chromium, test/distributed/partition iproute2 and root" >&2
exit 0
