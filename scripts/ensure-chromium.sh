#!/bin/sh
# The dashboard's browser tests drive Debian's chromium (/usr/bin/chromium) with playwright-core.
# Install it when it is missing and we may (root, with apt-get); otherwise say what to do.
# Run by `npm test` (the pretest script) before the tests.
set -eu
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: /usr/bin/chromium is missing; installing Debian's chromium with apt-get" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  exit 0
fi
echo "ensure-chromium: /usr/bin/chromium is missing and this is not root with apt-get:" >&2
echo "  install it (sudo apt-get install chromium); the dashboard's browser tests (test/dashboard) need it" >&2
exit 0
