#!/bin/sh
# exec-modes.sh [ROOT] - a tracked file is executable in git (mode 100755)
# exactly when it starts with "#!": a script can be run by hand as
# ./path even where the Makefile runs it through sh, and nothing without
# an interpreter line is marked executable.  Reads the modes from git's
# index (git ls-files -s), so a fresh clone sees what was committed.
# Exit 0 clean, 1 violations (each printed), 77 not a git work tree.
set -u

root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root" || exit 1
if ! command -v git >/dev/null 2>&1 ||
    ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	echo "skip: $root is not a git work tree (modes come from git's index)"
	exit 77
fi

bad=0
n=0
# "MODE SHA STAGE<TAB>PATH"; symlinks (120000) and submodules are skipped.
git ls-files -s | {
	while IFS= read -r line; do
		mode=${line%% *}
		path=${line#*	}
		case $mode in 100644|100755) ;; *) continue ;; esac
		[ -f "$path" ] || continue
		n=$((n + 1))
		if [ "$(head -c 2 "$path")" = '#!' ]; then
			if [ "$mode" != 100755 ]; then
				echo "exec-modes: $path starts with #! but is" \
				    "$mode in git (git update-index --chmod=+x)"
				bad=1
			fi
		elif [ "$mode" = 100755 ]; then
			echo "exec-modes: $path is executable in git but has" \
			    "no #! line (git update-index --chmod=-x)"
			bad=1
		fi
	done
	echo "exec-modes: $n files checked"
	exit $bad
}
