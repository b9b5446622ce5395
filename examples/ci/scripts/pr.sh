#!/usr/bin/env bash
# A pull (merge) request: validate the manifests, then plan.
#
# 1. `entitle validate --format github` (ENTITLE_VALIDATE_FORMAT: github,
#    text or json): on GitHub every problem is an annotation on its file and
#    line. On problems, problems.json lists them and the comment says so.
# 2. `entitle plan --lock=false --out plan.json --format markdown`: one
#    refresh gives the saved plan (the artifact merge.sh applies) and
#    plan.md; plans of several pull requests run side by side.
#
# Writes to $ENTITLE_OUT: plan.json, plan.md, and comment.md (the marker
# line, then the plan or what went wrong) for the sticky review comment,
# and codequality.json (`validate --format gitlab`) for GitLab.
# Exit 0 when planned, 1 on a problem. Settings: common.sh.
set -euo pipefail
# shellcheck source=SCRIPTDIR/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

rm -f "$out/plan.json" "$out/plan.md" "$out/comment.md" "$out/problems.json" "$out/codequality.json"

failed() {
    printf '%s\n\n%s\n' "$marker" "$1" >"$out/comment.md"
    exit 1
}

# GitLab's Code Quality report of the problems ([] when there are none),
# which its merge request shows.
"$entitle" validate --format gitlab "$manifests" >"$out/codequality.json" || true

if ! "$entitle" validate --format "${ENTITLE_VALIDATE_FORMAT:-github}" "$manifests"; then
    "$entitle" validate --format json "$manifests" >"$out/problems.json" || true
    failed "### entitle: the manifests do not validate

Each problem is annotated on its file and line (and listed in the job log and in problems.json, in the job's artifact). No plan was made."
fi

if ! "$entitle" plan "$manifests" --lock=false --out "$out/plan.json" --format markdown >"$out/plan.md"; then
    failed "### entitle: the plan failed

The job log says why (on GitHub, as annotations on the manifests). No plan was saved."
fi

postable "$marker" "$out/plan.md" "$out/comment.md"
summary "$out/plan.md"
echo "entitle: the plan is saved in $out/plan.json, its Markdown in $out/plan.md"
