#!/usr/bin/env bash
# Every document that a comment or a doc of the repository cites (a path ending in .md) is
# in the repository: found from the citing file's folder or from the repository's root.
#   check_doc_refs.sh [REPO_ROOT]
set -euo pipefail
root=$(cd "${1:-$(dirname "$0")/..}" && pwd)
cd "$root"
missing=0
while IFS= read -r -d '' file; do
    dir=$(dirname "$file")
    # (a path after a $ is a shell variable's: "$here/../README.md")
    for ref in $(grep -oE '(^|[^$A-Za-z0-9_./-])[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md\b' "$file" |
                 sed 's/^[^A-Za-z0-9_./-]//' | sort -u); do
        ref=${ref#./}
        found=0
        for path in "$dir/$ref" "$ref"; do
            real=$(realpath -m "$path")
            case $real in "$root"/*) [ -f "$real" ] && found=1 ;; esac # outside the repo counts as missing
        done
        if [ "$found" = 0 ]; then
            echo "$file cites $ref, which is not in the repository" >&2
            missing=1
        fi
    done
done < <(find . \( -name build -o -name node_modules -o -name .git \) -prune -o -type f \
    \( -name '*.[ch]' -o -name '*.mjs' -o -name '*.js' -o -name '*.ts' -o -name '*.cmake' \
       -o -name '*.sh' -o -name '*.txt' -o -name '*.md' -o -name '*.html' -o -name '*.py' \
       -o -name '*.in' -o -name 'Makefile' -o -name '*.json' \) -print0)
[ "$missing" = 0 ] && echo "every cited document is in the repository"
exit "$missing"
