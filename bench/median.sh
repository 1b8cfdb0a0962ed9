# shellcheck shell=bash
# bench/median.sh, sourced by the bench scripts that take turns over rounds: median of the numbers on
# standard input, separated by spaces or lines (the mean of the middle two for an even count).
median() { tr ' ' '\n' | sort -n | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
