// SPDX-License-Identifier: GPL-2.0
/*
 * tcpbench: the peers of make bench (selftests/bench/), in C so that the
 * peers, not the gateway, are never the part measured in Python's place.
 *
 * tcpbench serve PROTO:PORT...      one epoll loop serving every port;
 *     raw   counts the bytes it reads, answers the count (8 bytes, host
 *           order) at EOF and closes;
 *     imap  a Dovecot-like greeting; "tag STARTTLS" is answered "tag OK
 *           Begin TLS negotiation now." and the rest is raw; other
 *           commands get "tag OK done";
 *     smtp  a Postfix-like 220 greeting and EHLO reply (STARTTLS
 *           advertised); STARTTLS is answered 220 and the rest is raw.
 * tcpbench bulk ADDR PORT SECONDS [raw|imap]
 *     one connection (imap: greeting read, STARTTLS sent, its OK read
 *     first), then 64 KiB writes for SECONDS; prints the bytes the server
 *     counted and the seconds from the first bulk write to the count:
 *     "BYTES SECONDS MB/s".
 * tcpbench conns ADDR PORT SECONDS
 *     connections one after another for SECONDS, each a full SMTP
 *     negotiation: greeting, EHLO, the whole reply, STARTTLS, 220, close;
 *     prints "COUNT SECONDS conns/s".
 * tcpbench hold ADDR PORT COUNT greet|starttls|none READYFILE
 *     opens COUNT connections (greet: each greeting read; starttls: imap
 *     STARTTLS done on each), writes COUNT to READYFILE and keeps them
 *     open until killed; they end with a reset (SO_LINGER 0), leaving no
 *     TIME_WAIT socket to expire during the next slab snapshot.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BULK 65536

static const char GREET_IMAP[] =
	"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ "
	"STARTTLS AUTH=PLAIN] Dovecot (Debian) ready.\r\n";
static const char GREET_SMTP[] = "220 mail.example.org ESMTP Postfix (Debian/GNU)\r\n";
static const char EHLO_REPLY[] =
	"250-mail.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
	"250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n"
	"250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n";

enum proto { P_RAW, P_IMAP, P_SMTP };

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void more_files(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* ------------------------------------------------------------ server */

struct conn {
	int fd;
	enum proto proto;
	int raw;		/* past the negotiation: count bytes */
	uint64_t count;
	size_t len;
	char line[1024];
};

static void say(int fd, const char *s, size_t n)
{
	/* replies are short: they fit in an empty socket buffer */
	if (send(fd, s, n, MSG_NOSIGNAL) < 0 && errno != EPIPE && errno != ECONNRESET)
		perror("send");
}

static void line_in(struct conn *c)
{
	char *sp = memchr(c->line, ' ', c->len);
	char out[256];
	int n;

	if (c->proto == P_SMTP) {
		if (!strncasecmp(c->line, "EHLO", 4) || !strncasecmp(c->line, "HELO", 4)) {
			say(c->fd, EHLO_REPLY, sizeof(EHLO_REPLY) - 1);
		} else if (!strncasecmp(c->line, "STARTTLS", 8)) {
			n = snprintf(out, sizeof(out), "220 2.0.0 Ready to start TLS\r\n");
			say(c->fd, out, n);
			c->raw = 1;
		} else if (!strncasecmp(c->line, "QUIT", 4)) {
			say(c->fd, "221 2.0.0 Bye\r\n", 15);
		} else {
			say(c->fd, "250 2.0.0 Ok\r\n", 14);
		}
		return;
	}
	/* imap: tag SP verb */
	if (!sp)
		return;
	if (c->len - (sp + 1 - c->line) >= 8 && !strncasecmp(sp + 1, "STARTTLS", 8)) {
		n = snprintf(out, sizeof(out), "%.*s OK Begin TLS negotiation now.\r\n",
			     (int)(sp - c->line), c->line);
		c->raw = 1;
	} else {
		n = snprintf(out, sizeof(out), "%.*s OK done\r\n", (int)(sp - c->line), c->line);
	}
	say(c->fd, out, n);
}

/* returns 0 to keep the connection, -1 to close it */
static int conn_read(struct conn *c, char *buf)
{
	ssize_t n, i;

	for (;;) {
		n = read(c->fd, buf, BULK);
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		if (n == 0) {
			/* the count for bulk; nothing for a negotiation only */
			if (c->proto == P_RAW || c->count)
				say(c->fd, (const char *)&c->count, sizeof(c->count));
			return -1;
		}
		if (c->raw) {
			c->count += n;
			continue;
		}
		for (i = 0; i < n; i++) {
			if (c->raw) {
				c->count += n - i;
				break;
			}
			if (buf[i] == '\n') {
				while (c->len && c->line[c->len - 1] == '\r')
					c->len--;
				c->line[c->len] = 0;
				line_in(c);
				c->len = 0;
			} else if (c->len < sizeof(c->line) - 1) {
				c->line[c->len++] = buf[i];
			}
		}
	}
}

static __attribute__((noreturn)) void serve(int argc, char **argv)
{
	struct epoll_event ev, evs[64];
	static char buf[BULK];
	int ep, i, one = 1;

	more_files();
	ep = epoll_create1(0);
	if (ep < 0)
		die("epoll_create1");
	for (i = 0; i < argc; i++) {
		struct sockaddr_in6 a = { .sin6_family = AF_INET6 };
		char *colon = strchr(argv[i], ':');
		struct conn *l;
		int fd, zero = 0;

		if (!colon)
			die("serve PROTO:PORT");
		l = calloc(1, sizeof(*l));
		if (!l)
			die("calloc");
		l->proto = !strncmp(argv[i], "imap", 4) ? P_IMAP :
			   !strncmp(argv[i], "smtp", 4) ? P_SMTP : P_RAW;
		a.sin6_port = htons(atoi(colon + 1));
		fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (fd < 0)
			die("socket");
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 4096))
			die("bind/listen");
		l->fd = fd;
		l->raw = -1;	/* a listener */
		ev.events = EPOLLIN;
		ev.data.ptr = l;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
			die("epoll_ctl");
	}
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);

		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr, *nc;
			int fd;

			if (c->raw != -1) {
				if (conn_read(c, buf)) {
					close(c->fd);
					free(c);
				}
				continue;
			}
			while ((fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
				nc = calloc(1, sizeof(*nc));
				if (!nc)
					die("calloc");
				nc->fd = fd;
				nc->proto = c->proto;
				nc->raw = nc->proto == P_RAW;
				if (nc->proto == P_IMAP)
					say(fd, GREET_IMAP, sizeof(GREET_IMAP) - 1);
				else if (nc->proto == P_SMTP)
					say(fd, GREET_SMTP, sizeof(GREET_SMTP) - 1);
				ev.events = EPOLLIN;
				ev.data.ptr = nc;
				if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
					die("epoll_ctl");
			}
		}
	}
}

/* ------------------------------------------------------------ clients */

static int dial(const char *addr, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	int fd, rc;

	rc = getaddrinfo(addr, port, &hints, &ai);
	if (rc) {
		fprintf(stderr, "%s: %s\n", addr, gai_strerror(rc));
		exit(1);
	}
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	if (connect(fd, ai->ai_addr, ai->ai_addrlen))
		die("connect");
	freeaddrinfo(ai);
	return fd;
}

/* read until a line starting with prefix has been read whole */
static void expect(int fd, const char *prefix)
{
	char buf[4096];
	size_t len = 0, start = 0, pl = strlen(prefix);
	ssize_t n;

	for (;;) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n <= 0) {
			fprintf(stderr, "tcpbench: connection closed waiting for '%s'\n", prefix);
			exit(1);
		}
		len += n;
		for (size_t i = start; i < len; i++) {
			if (buf[i] != '\n')
				continue;
			if (i - start >= pl && !memcmp(buf + start, prefix, pl))
				return;
			start = i + 1;
		}
		if (start == len) {
			len = start = 0;
		} else if (len == sizeof(buf)) {
			memmove(buf, buf + start, len - start);
			len -= start;
			start = 0;
		}
	}
}

static void put(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		die("write");
}

static int bulk(char **argv, int imap)
{
	static char buf[BULK];
	double secs = atof(argv[2]), t0, end;
	uint64_t count = 0;
	int fd = dial(argv[0], argv[1]);

	if (imap) {
		expect(fd, "* OK");
		put(fd, "a STARTTLS\r\n");
		expect(fd, "a OK");
	}
	memset(buf, 'x', sizeof(buf));
	t0 = now();
	end = t0 + secs;
	while (now() < end) {
		if (write(fd, buf, sizeof(buf)) < 0)
			die("write");
	}
	shutdown(fd, SHUT_WR);
	if (read(fd, &count, sizeof(count)) != sizeof(count))
		die("read count");
	t0 = now() - t0;
	printf("%llu %.6f %.3f\n", (unsigned long long)count, t0, count / t0 / 1e6);
	return 0;
}

static int conns(char **argv)
{
	double secs = atof(argv[2]), t0 = now(), t;
	long n = 0;

	do {
		int fd = dial(argv[0], argv[1]);

		expect(fd, "220 ");
		put(fd, "EHLO client.example.org\r\n");
		expect(fd, "250 ");
		put(fd, "STARTTLS\r\n");
		expect(fd, "220 ");
		close(fd);
		n++;
		t = now() - t0;
	} while (t < secs);
	printf("%ld %.6f %.3f\n", n, t, n / t);
	return 0;
}

static __attribute__((noreturn)) void hold(char **argv)
{
	long i, count = atol(argv[2]);
	const char *mode = argv[3];
	FILE *f;

	more_files();
	for (i = 0; i < count; i++) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		int fd = dial(argv[0], argv[1]);

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		if (!strcmp(mode, "greet")) {
			expect(fd, "* OK");
		} else if (!strcmp(mode, "starttls")) {
			expect(fd, "* OK");
			put(fd, "a STARTTLS\r\n");
			expect(fd, "a OK");
		}
	}
	f = fopen(argv[4], "w");
	if (!f)
		die(argv[4]);
	fprintf(f, "%ld\n", count);
	fclose(f);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 3 && !strcmp(argv[1], "serve"))
		serve(argc - 2, argv + 2);
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "bulk"))
		return bulk(argv + 2, argc == 6 && !strcmp(argv[5], "imap"));
	if (argc == 5 && !strcmp(argv[1], "conns"))
		return conns(argv + 2);
	if (argc == 7 && !strcmp(argv[1], "hold"))
		hold(argv + 2);
	fprintf(stderr, "usage: see the comment at the top of tcpbench.c\n");
	return 2;
}
