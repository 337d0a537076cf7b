/** @file
 * The mpi backend of weft: the same tasks on every rank of an MPI job.
 *
 * Open MPI or MPICH, launched with `mpirun -np N ./prog` or with Slurm's
 * `srun -n N ./prog`. Link weft::mpi (CMake) or `pkg-config --libs weft-mpi`; see
 * docs/mpi.md.
 *
 * SPMD: every rank runs the same program. Call weft_mpi_init early in main, before any
 * weft call. On rank 0 it returns and main goes on: its weft calls with backend "mpi"
 * (WEFT_BACKEND=mpi, or options.backend) send batches of tasks to every rank. On the other
 * ranks weft_mpi_init does not return to main's code: they serve tasks by name until rank
 * 0 finishes, then MPI is finalized and they exit(0). (A program that initialized MPI
 * itself gets weft_mpi_init returning WEFT_MPI_SERVED there instead, once rank 0 has
 * called weft_mpi_finalize: it then goes on with its own MPI code, e.g. MPI_Finalize.) So
 * the code of main before weft_mpi_init runs on every rank, the code after it on rank 0
 * only.
 *
 * weft_shared regions reach each rank once and stay there until freed: ranks on rank 0's
 * node map rank 0's memory itself (or, where that is refused, share one copy in an MPI-3
 * window), ranks on other nodes get a copy in messages. Treat a region as read-only once
 * a call has used it. WEFT_MPI_REGIONS=window|send forces the window or the messages. */
#ifndef WEFT_MPI_H
#define WEFT_MPI_H

#include "weft.h"

#ifdef __cplusplus
extern "C" {
#endif

/** weft_mpi_init's answer on a rank other than 0 of a program that initialized MPI itself:
 * the work is over, go on with the program's own MPI code. */
#define WEFT_MPI_SERVED 1

/** Initialize MPI if the program has not (argc/argv may be NULL), register the backend
 * "mpi" and, on ranks other than 0, serve tasks (see above). 0 on rank 0; WEFT_ESYS when
 * MPI cannot start. Without a launcher, MPI makes a world of one rank: rank 0 then runs
 * every task itself. */
WEFT_API int weft_mpi_init(int *argc, char ***argv);
/** On rank 0: tell the other ranks to leave, and finalize MPI if weft_mpi_init started it.
 * Runs by itself at exit when weft_mpi_init started MPI; a program that initialized MPI
 * itself calls it before MPI_Finalize. Safe to call twice. */
WEFT_API void weft_mpi_finalize(void);
/** This rank (-1 before weft_mpi_init). */
WEFT_API int weft_mpi_rank(void);
/** The world's size (-1 before weft_mpi_init). */
WEFT_API int weft_mpi_size(void);
/** A line per rank, "rank 1: pid 4242 on node7", into buf (always terminated); returns the
 * length the whole text needs. Rank 0 knows every rank; the others only themselves. */
WEFT_API size_t weft_mpi_describe(char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
