#!/usr/bin/env bash
# House style as a test: every C file clang-format'ed, cppcheck (default settings) clean.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files 'src/*.c' 'src/*.h' 'tools/*.c' 'tests/*.c' 'tests/*.h' 2>/dev/null ||
        find src tools tests -name '*.[ch]')
if ! clang-format --dry-run --Werror $files; then
        echo "check-style: clang-format would change the files above (make format)"
        exit 1
fi
cppcheck --quiet --error-exitcode=1 --inline-suppr -Isrc --std=c11 src tools tests
echo "check-style: $(echo "$files" | wc -w) files formatted, cppcheck clean"
