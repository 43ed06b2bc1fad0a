/* medley-bench capacity: the real engine in process on a net_ring port, one worker lcore
 * running medleyd's loop, a traffic generator on the main lcore playing N phones (or,
 * with --memif, in a second process over net_memif), and a search for the largest N
 * with zero loss. See docs/benchmarks.md. */
#ifndef MD_BENCH_CAPACITY_H
#define MD_BENCH_CAPACITY_H

/* argv[0] is "capacity". Returns the exit status: 0 (the search found a passing N, or
 * every fixed N passed), 1 (a fixed N failed, or nothing passed), 2 (bad usage or a
 * profile that is not built yet), 3 (--memif: the generator process died or hung, or
 * the memif link did not come up). */
int md_capacity_main(int argc, char **argv);

#endif
