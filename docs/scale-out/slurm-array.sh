#!/bin/bash
# Grading a class on a Slurm cluster: a job array, one task per shard.
#
#   sbatch --export=ALL,CLASS=/shared/tcp-hello/submissions,OUT=/shared/tcp-hello/grades slurm-array.sh
#   sbatch --dependency=afterok:<array job id> --export=ALL,OUT=/shared/tcp-hello/grades \
#          --wrap 'apptainer exec --bind "$OUT" ipc-grader.sif grader merge --output "$OUT/all" "$OUT"/shard-*'
#
# Task K of the array (SLURM_ARRAY_TASK_ID, 0..N-1) runs
#   grader batch LAB CLASS --shard K/N --output OUT/shard-K
# over the same submissions as every other task and grades only the ids
# that hash to K.  A task that is requeued or run again goes on where it
# stopped.  The array must be 0-(N-1) (the default below: 4 shards).
#
# The grader runs from the Docker image (docker/Dockerfile) through
# Apptainer, which most clusters have instead of Docker:
#   apptainer build ipc-grader.sif docker-daemon://ipc-grader:latest
# (or RUNTIME=docker where nodes run Docker, or RUNTIME=host where the
# grader is installed on the nodes with `make install`).  Apptainer runs as
# the user, who needs unprivileged user namespaces on the nodes (`grader
# doctor` in the image says whether the sandbox has them; without them the
# grader refuses to grade, it never runs a submission unisolated).
#SBATCH --job-name=grade-ipc-lab
#SBATCH --array=0-3
#SBATCH --cpus-per-task=2
#SBATCH --mem=4G
#SBATCH --time=01:00:00
#SBATCH --output=grade-%A_%a.log
set -u

LAB=${LAB:-tcp-hello}
CLASS=${CLASS:?set CLASS to the shared folder (or archive) of submissions}
OUT=${OUT:?set OUT to a shared folder for the results}
RUNTIME=${RUNTIME:-apptainer}
IMAGE=${IMAGE:-ipc-grader.sif}
SHARDS=${SHARDS:-${SLURM_ARRAY_TASK_COUNT:?run this with sbatch --array=0-N}}
K=${SLURM_ARRAY_TASK_ID:?run this with sbatch --array=0-N}
JOBS=${SLURM_CPUS_PER_TASK:-2}

mkdir -p "$OUT"
args=(batch "$LAB" /class -j "$JOBS" --shard "$K/$SHARDS" --output "/out/shard-$K")
case $RUNTIME in
apptainer)
	apptainer exec --containall --bind "$CLASS:/class:ro" --bind "$OUT:/out" "$IMAGE" grader "${args[@]}" ;;
docker)
	# flag set B of docker/README.md
	docker run --rm --network none --cap-add SYS_ADMIN --cap-add NET_ADMIN \
		--security-opt seccomp="${SECCOMP:-docker/seccomp.json}" \
		-v "$CLASS:/class:ro" -v "$OUT:/out" ipc-grader:latest grader "${args[@]}" ;;
host)
	grader batch "$LAB" "$CLASS" -j "$JOBS" --shard "$K/$SHARDS" --output "$OUT/shard-$K" ;;
*)
	echo "RUNTIME is apptainer, docker or host, not \"$RUNTIME\"" >&2; exit 2 ;;
esac
rc=$?
# 0: all graded; 1: some submissions refused (named in grades.csv): both a
# finished shard.  3: the grader or the machine failed on some: the task
# fails, and running it again grades only what is missing.
[ "$rc" -le 1 ] || exit "$rc"
