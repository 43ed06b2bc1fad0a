/* A small C interface to Google Benchmark, so that benchmarks are written in C.
 *
 *   static void bm(md_bench_state_t *st, void *arg)
 *   {
 *       ...set up...
 *       while (md_bench_keep_running(st))
 *           ...one iteration...
 *       md_bench_set_items_per_iteration(st, 256);
 *   }
 *   md_bench_register("group/name", bm, arg);
 *   return md_bench_main(argc, argv);
 */
#ifndef MD_BENCH_SHIM_H
#define MD_BENCH_SHIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct md_bench_state md_bench_state_t;
typedef void (*md_bench_fn)(md_bench_state_t *st, void *arg);

/* Registers a benchmark; name may contain '/'. Call before md_bench_main(). */
void md_bench_register(const char *name, md_bench_fn fn, void *arg);

/* True while the benchmark should run another iteration (times what happens between). */
int md_bench_keep_running(md_bench_state_t *st);

/* Items (here: channel-frames of 160 samples) per iteration: reported as items_per_second
 * and as the counter time_per_item (seconds, e.g. 104n). Call after the loop. */
void md_bench_set_items_per_iteration(md_bench_state_t *st, int64_t items);

/* A named value shown with the results (for example, events seen, to prove work). */
void md_bench_counter(md_bench_state_t *st, const char *name, double value);

void md_bench_pause_timing(md_bench_state_t *st);
void md_bench_resume_timing(md_bench_state_t *st);

/* Marks the benchmark as skipped with a reason (for example, a path the CPU lacks). */
void md_bench_skip(md_bench_state_t *st, const char *why);

/* Marks the benchmark as failed (wrong output, set-up error): shown like a skip, and
 * md_bench_main() then returns 1, so a smoke run in CI catches a kernel that got fast
 * by doing the wrong thing. */
void md_bench_fail(md_bench_state_t *st, const char *why);

/* Parses Google Benchmark's options, runs what was registered; returns the exit status:
 * 0, 1 if a benchmark failed or the filter matched none (a typo should not pass as a
 * run), 2 for an unknown option. */
int md_bench_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif
