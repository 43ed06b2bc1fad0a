// The C shim over Google Benchmark 1.7 (see bench_shim.h).
#include "bench/bench_shim.h"

#include <benchmark/benchmark.h>

struct md_bench_state {
    benchmark::State *state;
};

extern "C" void md_bench_register(const char *name, md_bench_fn fn, void *arg)
{
    benchmark::RegisterBenchmark(name, [fn, arg](benchmark::State &state) {
        md_bench_state_t st{ &state };
        fn(&st, arg);
    });
}

extern "C" int md_bench_keep_running(md_bench_state_t *st)
{
    return st->state->KeepRunning() ? 1 : 0;
}

extern "C" void md_bench_set_items_per_iteration(md_bench_state_t *st, int64_t items)
{
    benchmark::State &s = *st->state;
    s.SetItemsProcessed(static_cast<int64_t>(s.iterations()) * items);
    // Time per item, shown as e.g. "104.5n" (seconds): the inverse of the items rate.
    s.counters["time_per_item"] = benchmark::Counter(
        static_cast<double>(items),
        benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

extern "C" void md_bench_counter(md_bench_state_t *st, const char *name, double value)
{
    st->state->counters[name] = value;
}

extern "C" void md_bench_pause_timing(md_bench_state_t *st)
{
    st->state->PauseTiming();
}

extern "C" void md_bench_resume_timing(md_bench_state_t *st)
{
    st->state->ResumeTiming();
}

extern "C" void md_bench_skip(md_bench_state_t *st, const char *why)
{
    st->state->SkipWithError(why);
}

static bool any_failed;

extern "C" void md_bench_fail(md_bench_state_t *st, const char *why)
{
    any_failed = true;
    st->state->SkipWithError(why);
}

extern "C" int md_bench_main(int argc, char **argv)
{
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        benchmark::Shutdown();
        return 2;
    }
    // Returns how many benchmarks matched; none (a bad regex included) was reported.
    size_t ran = benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return (ran == 0 || any_failed) ? 1 : 0;
}
