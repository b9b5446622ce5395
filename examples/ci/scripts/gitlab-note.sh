#!/usr/bin/env bash
# GitLab: keeps one note on the merge request up to date with comment.md
# (pr.sh's plan, or what went wrong), found again by its first line.
#
# Needs ENTITLE_GITLAB_TOKEN, a project access token with the `api` scope
# (a CI/CD variable, masked): CI_JOB_TOKEN cannot write notes. Without it,
# this says so and does nothing: the plan is still in the job's artifact.
# Uses curl and jq. Settings: common.sh.
set -euo pipefail
# shellcheck source=SCRIPTDIR/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [[ -z ${ENTITLE_GITLAB_TOKEN:-} ]]; then
    echo "entitle: ENTITLE_GITLAB_TOKEN is not set: no note on the merge request (the plan is in the artifact)"
    exit 0
fi
if [[ ! -f $out/comment.md ]]; then
    echo "entitle: no $out/comment.md to post"
    exit 0
fi

notes="$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests/$CI_MERGE_REQUEST_IID/notes"

# The token goes in a header read from standard input: never on a command
# line, never in the log.
api() {
    printf 'PRIVATE-TOKEN: %s\n' "$ENTITLE_GITLAB_TOKEN" | curl --fail --silent --show-error --header @- "$@"
}

id=$(api "$notes?per_page=100&sort=asc" |
    jq --arg marker "$marker" 'map(select(.body | startswith($marker))) | .[0].id // empty')
if [[ -n $id ]]; then
    api --request PUT --data-urlencode "body@$out/comment.md" "$notes/$id" >/dev/null
else
    api --request POST --data-urlencode "body@$out/comment.md" "$notes" >/dev/null
fi
echo "entitle: the plan is on the merge request"
