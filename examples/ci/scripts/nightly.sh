#!/usr/bin/env bash
# The nightly drift check: `entitle drift --out json=drift.json --out
# markdown=drift.md` (the text report in drift.txt), and issue.md, the
# drift under a heading, for an issue.
#
# Exit 0 without drift, 2 with drift (the files are written either way), 1
# on an error. Settings: common.sh.
set -euo pipefail
# shellcheck source=SCRIPTDIR/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

rm -f "$out/drift.json" "$out/drift.md" "$out/drift.txt" "$out/issue.md"

status=0
"$entitle" drift "$manifests" --out json="$out/drift.json" --out markdown="$out/drift.md" \
    >"$out/drift.txt" || status=$?
case $status in
0) echo "entitle: no drift" ;;
2)
    echo "entitle: drift found: see $out/drift.md"
    postable "### entitle: drift found" "$out/drift.md" "$out/issue.md"
    summary "$out/drift.md"
    ;;
*) ;;
esac
exit "$status"
