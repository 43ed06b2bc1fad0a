/* One interface over the DTMF detectors under test, so one battery runs on each:
 *
 *   - DET_MEDLEY:       medley's md_dtmf_rx, one channel through md_dtmf_rx_process1(),
 *                       in frames of the given size; the SIMD path rotates every frame
 *                       (scalar, AVX2, AVX-512 where the CPU has them), since the paths
 *                       must decide identically;
 *   - DET_MEDLEY_BATCH: the same signal on DET_LANES channels at once through the batched
 *                       md_dtmf_rx_process(), each lane delayed by a different number of
 *                       samples (so the lanes sit at different points of their 5 ms
 *                       sub-blocks) and fed in frames of varying sizes; every lane gives
 *                       its own result, judged on its own;
 *   - DET_SPANDSP:      SpanDSP 0.0.6's dtmf_rx(), optionally with dtmf_rx_parms().
 *
 * Digits come back in order with their start and end sample indexes where the detector
 * gives them (medley: from its END events; SpanDSP: -1), and the sample count at which
 * each was reported. For medley the event stream is also checked: every BEGIN followed
 * by the END of the same digit and start, no END without BEGIN, nothing open after the
 * flush, no lost events. */
#ifndef MD_TESTS_DTMF_DETECTORS_H
#define MD_TESTS_DTMF_DETECTORS_H

#include <stdint.h>

#define DET_LANES 8

typedef enum { DET_MEDLEY = 0, DET_MEDLEY_BATCH, DET_SPANDSP } det_kind_t;

typedef struct {
    det_kind_t kind;
    unsigned frame;      /* samples per call, >= 1 (160 = 20 ms) */
    /* SpanDSP: dtmf_rx_parms(filter_dialtone, twist, reverse_twist, threshold); called
     * only if spandsp_set_parms. */
    int spandsp_set_parms;
    int spandsp_parms[4];
} det_cfg_t;

typedef struct {
    char *digit;         /* caller's arrays of cap entries */
    long *start;         /* first sample of the tone, or -1 if the detector does not say */
    long *end;           /* sample just past the tone, or -1 */
    long *reported;      /* samples fed when the detector reported the digit */
    int cap;
    int n;               /* digits recorded */
    long dropped;        /* digits beyond cap (counted, not stored) */
    int pairing_errors;  /* medley: BEGIN/END stream not well formed, or events lost */
    char pairing_msg[96];
} det_result_t;

/* Parses "medley", "medley-batch" or "spandsp"; returns 0 or -EINVAL. */
int det_parse_kind(const char *name, det_kind_t *kind);
const char *det_kind_name(det_kind_t kind);

/* Number of results det_run() gives for this kind: DET_LANES for DET_MEDLEY_BATCH, else 1. */
int det_lanes(const det_cfg_t *cfg);

/* Runs the detector over pcm[0..n) followed by the end of the stream (medley: flush;
 * SpanDSP: 200 ms of silence, which it needs to report a digit that ends the stream).
 * Fills r[0 .. det_lanes(cfg) - 1]; every r[i] must have its arrays set. Sample indexes
 * refer to pcm whatever a lane's delay. Returns 0, -EINVAL for bad arguments, -ENOMEM
 * if SpanDSP cannot allocate, -E2BIG if n is beyond the batch buffers (DET_MEDLEY_BATCH
 * takes at most DET_BATCH_MAX samples). */
#define DET_BATCH_MAX (8000 * 12)
int det_run(const det_cfg_t *cfg, const int16_t *pcm, long n, det_result_t *r);

#endif
