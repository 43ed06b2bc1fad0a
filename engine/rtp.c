/* RTP header parsing and building. */
#include "engine/rtp.h"

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

md_rtp_status_t md_rtp_parse(const uint8_t *buf, size_t len, md_rtp_hdr_t *h)
{
    if (len < 12 || len > 65535)
        return MD_RTP_SHORT;
    if (buf[0] >> 6 != 2)
        return MD_RTP_VERSION;
    int padding = (buf[0] >> 5) & 1, extension = (buf[0] >> 4) & 1;
    h->csrc_count = buf[0] & 0x0F;
    h->marker = buf[1] >> 7;
    h->pt = buf[1] & 0x7F;
    if (h->pt >= 72 && h->pt <= 76)
        return MD_RTP_RTCP;
    h->seq = rd16(buf + 2);
    h->ts = rd32(buf + 4);
    h->ssrc = rd32(buf + 8);
    size_t off = 12 + 4 * (size_t)h->csrc_count;
    if (off > len)
        return MD_RTP_SHORT;
    if (extension) {
        if (off + 4 > len)
            return MD_RTP_EXTENSION;
        size_t ext = 4 + 4 * (size_t)rd16(buf + off + 2);
        if (off + ext > len)
            return MD_RTP_EXTENSION;
        off += ext;
    }
    size_t end = len;
    if (padding) {
        uint8_t pad = buf[len - 1];
        if (pad == 0 || pad > len - off)
            return MD_RTP_PADDING;
        end -= pad;
    }
    h->payload_off = (uint16_t)off;
    h->payload_len = (uint16_t)(end - off);
    return MD_RTP_OK;
}

void md_rtp_write(uint8_t hdr[12], uint8_t pt, int marker, uint16_t seq, uint32_t ts,
                  uint32_t ssrc)
{
    hdr[0] = 0x80;
    hdr[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7F));
    hdr[2] = (uint8_t)(seq >> 8);
    hdr[3] = (uint8_t)seq;
    for (int i = 0; i < 4; i++) {
        hdr[4 + i] = (uint8_t)(ts >> (24 - 8 * i));
        hdr[8 + i] = (uint8_t)(ssrc >> (24 - 8 * i));
    }
}

int md_rtp_event_parse(const uint8_t *payload, size_t len, md_rtp_event_t *ev)
{
    if (len < 4)
        return -1;
    ev->event = payload[0];
    ev->end = payload[1] >> 7;
    ev->volume = payload[1] & 0x3F;
    ev->duration = rd16(payload + 2);
    return 0;
}

void md_rtp_event_write(uint8_t out[4], const md_rtp_event_t *ev)
{
    out[0] = ev->event;
    out[1] = (uint8_t)((ev->end ? 0x80 : 0) | (ev->volume & 0x3F));
    out[2] = (uint8_t)(ev->duration >> 8);
    out[3] = (uint8_t)ev->duration;
}
