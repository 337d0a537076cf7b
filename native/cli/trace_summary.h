/* `weft trace summary FILE` (trace_summary.c). */
#ifndef WEFT_CLI_TRACE_SUMMARY_H
#define WEFT_CLI_TRACE_SUMMARY_H
/* Print the summary of trace file `path`; the exit status (0, or 1 with a message). */
int weft_cli_trace_summary(const char *path);
#endif
