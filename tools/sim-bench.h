/* sim-bench.h: `doorwatch-sim bench`, the load generator behind `make bench` (sim-bench.c). */
#pragma once

/* argv[0] is "bench". Returns the exit status: 0 ok, 1 a run failed, 2 usage error. */
int sim_bench_main(int argc, char **argv);
