#!/usr/bin/env bash
# Fails when any tracked C++ file differs from clang-format's output (.clang-format, v14 keys).
set -euo pipefail
cd "$(dirname "$0")/.."
bad=()
while IFS= read -r f; do
  [ -f "$f" ] || continue
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp')
if [ ${#bad[@]} -gt 0 ]; then
  echo "clang-format: these files need 'make format': ${bad[*]}"
  exit 1
fi
echo "clang-format: clean"
