#!/bin/sh
# The partition test (test/distributed/partition.test.ts) makes network namespaces with the `ip`
# command of iproute2. Install it when it is missing and we may (root, with apt-get); otherwise
# say what to do (the test then reports itself skipped, with the reason).
# Run by `npm test` (the pretest script) before the tests: nothing to do when `ip` is there.
set -eu
if command -v ip >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-iproute2: the ip command is missing; installing Debian's iproute2 with apt-get" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2
  exit 0
fi
echo "ensure-iproute2: the ip command is missing and this is not root with apt-get:" >&2
echo "  install iproute2 (sudo apt-get install iproute2); the partition test also needs root" >&2
exit 0
