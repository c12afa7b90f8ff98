#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: as root, installs the Debian packages the integration tests
# use (Open vSwitch, Mininet, OpenLDAP, FreeRADIUS, wpa_supplicant, DHCP server and client, etcd, Chromium, …),
# starts Open vSwitch (no systemd needed), then runs `npm test` with ACL_REQUIRE_INTEGRATION=1 so that a test
# whose real part is missing fails instead of being skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS="openvswitch-switch openvswitch-common mininet slapd ldap-utils ethtool chromium python3-os-ken iproute2
iputils-ping openssl freeradius freeradius-ldap freeradius-utils wpasupplicant eapoltest dnsmasq-base
isc-dhcp-client etcd-server etcd-client iperf3 tcpdump procps curl util-linux"

if [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  missing=""
  for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  if [ -n "$missing" ]; then
    echo "== apt-get install$missing"
    apt-get update -qq || true
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
  fi
  # Debian starts some services on install; the tests start their own private instances.
  for svc in freeradius slapd etcd dnsmasq; do
    if [ -x "/etc/init.d/$svc" ]; then "/etc/init.d/$svc" stop >/dev/null 2>&1 || true; fi
  done
  echo "== start Open vSwitch (userspace datapath; no systemd here)"
  /usr/share/openvswitch/scripts/ovs-ctl status >/dev/null 2>&1 || /usr/share/openvswitch/scripts/ovs-ctl start --system-id=random
else
  echo "== not root: Debian packages and Open vSwitch are not set up; integration tests will fail (ACL_REQUIRE_INTEGRATION=1)" >&2
fi

if [ ! -d node_modules ] || [ package.json -nt node_modules/.package-lock.json ]; then
  echo "== npm install"
  npm install --no-audit --no-fund
fi

echo "== npm test (integration parts required)"
ACL_REQUIRE_INTEGRATION=1 npm test
