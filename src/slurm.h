/* The Slurm executor: batch scripts, sbatch argv, and the tracker that
 * follows every submitted Slurm job with one query a tick. */
#ifndef DAGEXEC_SLURM_H
#define DAGEXEC_SLURM_H
#endif
