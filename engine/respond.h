/* Answers for the engine's own addresses: ARP requests, IPv6 neighbour solicitations and
 * ICMP/ICMPv6 echo requests, so that a host on the same link reaches the engine with no
 * static neighbour entries and can ping it. Pure C: the reply is built into a buffer
 * (the caller's mbuf), the VLAN tag of the request kept. */
#ifndef MD_ENGINE_RESPOND_H
#define MD_ENGINE_RESPOND_H

#include <stddef.h>
#include <stdint.h>

#include "engine/pkt.h"

typedef struct {
    uint8_t mac[6];
    int has_ip4;
    uint8_t ip4[4];
    int has_ip6;
    uint8_t ip6[16];
} md_iface_t;

/* For a frame md_pkt_parse() classified as v (with p), writes the reply into out (cap
 * bytes) and returns its length, or 0 if the frame needs no reply (not a request, not
 * for one of our addresses, malformed, or cap too small). */
size_t md_respond(const md_iface_t *ifc, const uint8_t *frame, size_t len, const md_pkt_t *p,
                  md_pkt_verdict_t v, uint8_t *out, size_t cap);

#endif
