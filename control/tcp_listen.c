/* A TCP listening socket for the control plane's servers (see tcp_listen.h). */
#include "control/tcp_listen.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <netinet/in.h>

int md_tcp_listen(const char *host, unsigned port, const char *what, uint16_t *bound_port,
                  char *err, size_t errlen)
{
    char service[8];
    snprintf(service, sizeof(service), "%u", port);
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s address %s: %s", what, host != NULL ? host : "(any)",
                     gai_strerror(rc));
        return -EINVAL;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 64) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s listener on %s port %u: %s", what,
                     host != NULL ? host : "(any)", port, strerror(e));
        return -e;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    uint16_t got = (uint16_t)port;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        got = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    if (bound_port != NULL)
        *bound_port = got;
    return fd;
}
