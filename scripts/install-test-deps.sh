#!/usr/bin/env bash
# Installs the Debian packages the test suites drive as real parts (SPEC: "real parts, really tested").
#   socat         — serial pseudo-terminal pairs for the serial drivers and simulators
#   mosquitto     — the MQTT broker the bridge tests start on a free loopback port
#   libxml2-utils — xmllint, to validate N42.42 documents against the NIST schema
#   victoria-metrics — an InfluxDB-compatible time-series store (/api/v2/write) for telemetry tests
#   chromium      — the real browser the console tests drive through playwright-core
set -euo pipefail
packages=(socat mosquitto libxml2-utils victoria-metrics chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "test dependencies present: ${packages[*]}"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
