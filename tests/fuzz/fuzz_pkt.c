/* libFuzzer target: any bytes as a received Ethernet frame, through the frame parser and,
 * for UDP, the RTP and RFC 4733 parsers. The parsers must never read outside the input
 * (AddressSanitizer) nor hit undefined behaviour, and what they report must lie inside. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "engine/pkt.h"
#include "engine/rtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    md_pkt_t p;
    md_pkt_verdict_t v = md_pkt_parse(data, size, &p);
    if (v == MD_PKT_UDP) {
        if ((size_t)p.payload_off + p.payload_len > size)
            abort();
        md_rtp_hdr_t h;
        if (md_rtp_parse(data + p.payload_off, p.payload_len, &h) == MD_RTP_OK) {
            if ((size_t)h.payload_off + h.payload_len > p.payload_len)
                abort();
            md_rtp_event_t ev;
            md_rtp_event_parse(data + p.payload_off + h.payload_off, h.payload_len, &ev);
        }
    }
    return 0;
}
