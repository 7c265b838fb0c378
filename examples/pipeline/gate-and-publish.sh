#!/usr/bin/env bash
# Wiring `invar gate` into a pipeline: gate the generated artifact, publish
# what the gate wrote on 0 (accept: the candidate) and 2 (pin: the LKG), and
# alert otherwise (1: rejected with nothing to fall back on; 3: could not
# judge; anything else: killed). Never publish the candidate yourself.
#
# Once, when the stream is set up (a gate refuses a stream nobody created,
# so a mistyped or lost --state publishes nothing instead of starting over):
#   invar init --state "$STATE" --stream "$STREAM" --contract "$CONTRACT" [--reason "..." SEED]
#
# usage: CONTRACT=... STREAM=... STATE=... PUBLISH_CMD=... ALERT_CMD=... gate-and-publish.sh ARTIFACT
#   PUBLISH_CMD FILE   pushes FILE to the fleet (e.g. your distributor's upload command)
#   ALERT_CMD MESSAGE  pages someone
#   INVAR              the invar binary (default: invar on PATH)
#   METRICS            where the gate writes its Prometheus metrics for node_exporter's textfile
#                      collector (default: /var/lib/node_exporter/textfile/invar-$STREAM.prom);
#                      alert on invar_pinned_seconds and invar_flapping (docs/gate.md#metrics)
set -uo pipefail
artifact=$1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
metrics=${METRICS:-/var/lib/node_exporter/textfile/invar-$STREAM.prom}
"${INVAR:-invar}" gate --quiet --contract "$CONTRACT" --stream "$STREAM" --state "$STATE" --out "$out" \
  --metrics "$metrics" "$artifact"
code=$?
case $code in
  0) $PUBLISH_CMD "$out" ;;
  2) $PUBLISH_CMD "$out"
     $ALERT_CMD "invar pinned $STREAM: $artifact was rejected; the last-known-good was published again" ;;
  *) $ALERT_CMD "invar gate exited $code on $STREAM for $artifact: nothing published"
     exit "$code" ;;
esac
