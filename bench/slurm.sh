#!/bin/sh
echo "bench/slurm.sh: not written yet" >&2
exit 1
