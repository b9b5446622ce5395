#!/usr/bin/env bash
# GitLab: fetches the plan reviewed in the merge request of this commit
# (the artifact of its last successful `entitle:plan` job) into
# $ENTITLE_OUT, for merge.sh. Without ENTITLE_GITLAB_TOKEN (see
# gitlab-note.sh), a merge request or that artifact, it says so and
# merge.sh plans afresh. Uses curl, jq and unzip. Settings: common.sh.
set -euo pipefail
# shellcheck source=SCRIPTDIR/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [[ -z ${ENTITLE_GITLAB_TOKEN:-} ]]; then
    echo "entitle: ENTITLE_GITLAB_TOKEN is not set: merge.sh will plan afresh"
    exit 0
fi

project="$CI_API_V4_URL/projects/$CI_PROJECT_ID"

api() {
    printf 'PRIVATE-TOKEN: %s\n' "$ENTITLE_GITLAB_TOKEN" | curl --fail --silent --show-error --header @- "$@"
}

iid=$(api "$project/repository/commits/$CI_COMMIT_SHA/merge_requests" |
    jq '[.[] | select(.state == "merged")][0].iid // empty')
if [[ -z $iid ]]; then
    echo "entitle: no merged merge request for $CI_COMMIT_SHA: merge.sh will plan afresh"
    exit 0
fi

archive="$out/.merge-request-artifact.zip"
ref="refs%2Fmerge-requests%2F$iid%2Fhead"
# GitLab.com may answer with a redirect to a CDN: followed without the
# token, which must not leave GitLab.
if redirect=$(api --output "$archive" --write-out '%{redirect_url}' \
    "$project/jobs/artifacts/$ref/download?job=entitle%3Aplan") &&
    { [[ -z $redirect ]] || curl --fail --silent --show-error --output "$archive" "$redirect"; }; then
    unzip -o -q "$archive" "$out/*" || echo "entitle: the artifact of !$iid holds no plan"
else
    echo "entitle: no plan artifact for !$iid: merge.sh will plan afresh"
fi
rm -f "$archive"
