# shellcheck shell=bash
# Sourced by pr.sh, merge.sh and nightly.sh: the settings they share, each
# from the environment with a default, and the Redstor key.
#
#   ENTITLE                 the entitle binary (default: entitle, on PATH)
#   ENTITLE_MANIFESTS       the manifests: a file or a directory (default: manifests)
#   ENTITLE_OUT             where the files for the next steps go (default: entitle-out)
#   ENTITLE_COMMENT_MARKER  the first line of the review comment, by which
#                           the comment is found again (default: <!-- entitle-plan -->)
#   REDSTOR_PRIVATE_KEY     the Redstor service account's key itself (a CI
#                           secret), written to a private temporary file for
#                           REDSTOR_PRIVATE_KEY_FILE when that is not set
#
# entitle reads the rest itself: OS_* and REDSTOR_* credentials,
# ENTITLE_BACKEND, ENTITLE_WORKSPACE, ENTITLE_ERROR_FORMAT (README:
# Credentials, Team use, CI recipes). Nothing here prints a variable's value.

# shellcheck disable=SC2034 # used by the scripts that source this
entitle=${ENTITLE:-entitle}
# shellcheck disable=SC2034
manifests=${ENTITLE_MANIFESTS:-manifests}
out=${ENTITLE_OUT:-entitle-out}
# shellcheck disable=SC2034
marker=${ENTITLE_COMMENT_MARKER:-<!-- entitle-plan -->}
# GitHub and GitLab refuse a comment, a note or an issue longer than this.
max_comment_bytes=60000

mkdir -p "$out"

if [[ -n ${REDSTOR_PRIVATE_KEY:-} && -z ${REDSTOR_PRIVATE_KEY_FILE:-} ]]; then
    redstor_key_file=$(umask 077 && mktemp "${TMPDIR:-/tmp}/entitle-redstor-key.XXXXXX")
    trap 'rm -f "$redstor_key_file"' EXIT
    printf '%s\n' "$REDSTOR_PRIVATE_KEY" >"$redstor_key_file"
    export REDSTOR_PRIVATE_KEY_FILE=$redstor_key_file
fi
unset REDSTOR_PRIVATE_KEY

# Appends Markdown to the job's summary page on GitHub (a no-op elsewhere).
summary() {
    if [[ -n ${GITHUB_STEP_SUMMARY:-} ]]; then
        cat "$@" >>"$GITHUB_STEP_SUMMARY"
    fi
}

# Writes a body for a comment, a note or an issue: `$1`, the Markdown at
# `$2` (or a pointer to the artifact when it is too long to post), to `$3`.
postable() {
    local heading=$1 markdown=$2 body=$3
    {
        printf '%s\n' "$heading"
        if [[ $(wc -c <"$markdown") -le $max_comment_bytes ]]; then
            cat "$markdown"
        else
            printf '\n%s is too long for a comment (%s bytes): it is in the job'"'"'s artifact.\n' \
                "$(basename "$markdown")" "$(wc -c <"$markdown" | tr -d ' ')"
        fi
    } >"$body"
}
