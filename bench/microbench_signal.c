/* Mixer and Opus benchmarks for medley-microbench (filled in as those modules land). */
void md_microbench_register_more(void);

void md_microbench_register_more(void)
{
}
