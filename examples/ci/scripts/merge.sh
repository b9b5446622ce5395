#!/usr/bin/env bash
# A merge to the default branch: apply the plan reviewed in the pull
# request, or plan again and apply when it is stale.
#
# ENTITLE_PLAN (default: $ENTITLE_OUT/plan.json) is the saved plan pr.sh
# wrote, fetched from the pull request's run. `entitle apply PLANFILE`
# applies it only while it is current, and exits 3 when it is stale: the
# state moved (another merge applied first) or the manifests differ from
# those it was made from (the merge brought in other changes). Then, and
# when there is no saved plan, this plans again (`--out merge-plan.json`,
# its Markdown in merge-plan.md) and applies that plan. Any other failure
# stops here with its own exit code (1). Settings: common.sh.
set -euo pipefail
# shellcheck source=SCRIPTDIR/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

plan=${ENTITLE_PLAN:-$out/plan.json}

if [[ -f $plan ]]; then
    status=0
    "$entitle" apply "$plan" || status=$?
    case $status in
    0)
        echo "entitle: applied the reviewed plan $plan"
        exit 0
        ;;
    3) echo "entitle: the reviewed plan is stale (the state or the manifests moved since it was made): planning again" ;;
    *) exit "$status" ;;
    esac
else
    echo "entitle: no saved plan at $plan: planning now"
fi

"$entitle" plan "$manifests" --out "$out/merge-plan.json" --format markdown >"$out/merge-plan.md"
summary "$out/merge-plan.md"
"$entitle" apply "$out/merge-plan.json"
echo "entitle: applied the new plan $out/merge-plan.json"
