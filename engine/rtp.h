/* RTP (RFC 3550) headers and RFC 4733 telephone-event payloads: parsing with every
 * length checked, and building. Pure C on byte buffers. */
#ifndef MD_ENGINE_RTP_H
#define MD_ENGINE_RTP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t marker;
    uint8_t pt;              /* payload type 0..127 */
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    uint8_t csrc_count;
    uint16_t payload_off;    /* from the start of the RTP header */
    uint16_t payload_len;    /* without padding */
} md_rtp_hdr_t;

typedef enum {
    MD_RTP_OK = 0,
    MD_RTP_SHORT,            /* under 12 bytes, or CSRCs past the end */
    MD_RTP_VERSION,          /* not version 2 */
    MD_RTP_EXTENSION,        /* extension header past the end */
    MD_RTP_PADDING,          /* padding count zero or past the payload */
    MD_RTP_RTCP,             /* payload type 72-76: RTCP sent to the RTP port */
} md_rtp_status_t;

md_rtp_status_t md_rtp_parse(const uint8_t *buf, size_t len, md_rtp_hdr_t *h);

/* Writes a 12-byte header (no CSRC, no extension). */
void md_rtp_write(uint8_t hdr[12], uint8_t pt, int marker, uint16_t seq, uint32_t ts,
                  uint32_t ssrc);

/* RFC 4733 telephone-event payload (4 bytes). */
typedef struct {
    uint8_t event;           /* 0-9, 10 '*', 11 '#', 12-15 A-D, others ignored */
    uint8_t end;             /* E bit */
    uint8_t volume;          /* 0..63, -dBm0 */
    uint16_t duration;       /* in timestamp units */
} md_rtp_event_t;

/* Returns 0, or -1 if the payload is shorter than 4 bytes. Only the first event of a
 * payload carrying several (redundancy, RFC 4733 section 2.5.1.5 does not apply to
 * events in one packet) is read. */
int md_rtp_event_parse(const uint8_t *payload, size_t len, md_rtp_event_t *ev);
void md_rtp_event_write(uint8_t out[4], const md_rtp_event_t *ev);

#endif
