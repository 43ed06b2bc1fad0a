/* A TCP listening socket for the control plane's servers (the gRPC API, the metrics
 * endpoint): one place for address resolution, the socket options and the errors. */
#ifndef MD_CONTROL_TCP_LISTEN_H
#define MD_CONTROL_TCP_LISTEN_H

#include <stddef.h>
#include <stdint.h>

/* Listens on host (a name or a numeric IPv4/IPv6 address; NULL: every address) and port
 * (0: a free port chosen by the kernel), non-blocking and close-on-exec, SO_REUSEADDR so
 * a restart does not wait for old connections. Returns the socket and the port it got
 * in *bound_port, or a negative errno with *err naming `what` and the cause:
 * -EINVAL for an address that does not resolve, the socket's errno otherwise (-EADDRINUSE
 * when the port is taken). */
int md_tcp_listen(const char *host, unsigned port, const char *what, uint16_t *bound_port,
                  char *err, size_t errlen);

#endif
