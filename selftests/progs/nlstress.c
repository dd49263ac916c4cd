// SPDX-License-Identifier: GPL-2.0
/*
 * nlstress: valid requests to the "lemonade" generic netlink family in a
 * bounded loop, for the stress and fault-injection selftests.
 *
 *   write: ADD_PORT (PORT = BASE + i % 16, proto smtp), then DEL_PORT of
 *          the same port, then SET_CONFIG with a timeout of 7440 or
 *          10800 s, in turn
 *   dump:  GET_FLOWS (a dump), GET_CONFIG and GET_STATS, in turn
 *
 * usage: nlstress -m write|dump [-t SECONDS] [-n MAX] [-r PER_SECOND]
 *                 [-p BASE] [-f]
 *
 * -t bounds the run in time (default 10 s), -n in requests (default
 * 1000000), -r paces it (default: as fast as answers come). -f writes 1 to
 * /proc/self/make-it-fail once the family is resolved, so that the
 * kernel's fault injection (task-filter) fails allocations made on behalf
 * of this process's requests; errors that allocation failures cause
 * (ENOMEM, ENOBUFS, a lost answer, ENOENT for the DEL_PORT of a port whose
 * ADD_PORT failed, EBUSY for a dump asked for while the one an error cut
 * short here still runs on the socket) are then counted, not fatal. Nothing is allocated in
 * the loop.
 *
 * Prints "nlstress: MODE: N requests, N ok, N failed (...)" and exits 0,
 * or 1 if a request was refused for another reason (or, without -f, for
 * any reason), 2 on a usage or setup error, 4 if the family is missing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>

#include <linux/lemonade.h>

static char buf[65536];
static char outbuf[4096];
static struct mnl_socket *nl;
static unsigned int portid, seq = 1;
static uint16_t family;
static bool inject;

enum { RES_OK, RES_NOMEM, RES_NOBUFS, RES_LOST, RES_NOENT, RES_BUSY, RES_OTHER, RES_MAX };
static unsigned long res[RES_MAX];
static int other_errno;

static struct nlmsghdr *start(uint16_t type, uint16_t flags, uint8_t cmd)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq++;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = type == GENL_ID_CTRL ? 1 : LEMONADE_GENL_VERSION;
	return nlh;
}

static int family_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID &&
	    mnl_attr_validate(a, MNL_TYPE_U16) >= 0)
		*(uint16_t *)data = mnl_attr_get_u16(a);
	return MNL_CB_OK;
}

static int resolve_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), family_cb, data);
}

/* send nlh, read until its ACK, error or DONE; one R_* result */
static int transact(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	unsigned int s = nlh->nlmsg_seq;
	int n, rc;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return errno == ENOMEM ? RES_NOMEM : errno == ENOBUFS ? RES_NOBUFS :
			(other_errno = errno, RES_OTHER);
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return RES_LOST;
			if (errno == ENOBUFS)
				return RES_NOBUFS;
			other_errno = errno;
			return RES_OTHER;
		}
		rc = mnl_cb_run(buf, n, s, portid, cb, data);
		if (rc == MNL_CB_STOP)
			return RES_OK;
		if (rc < 0) {
			if (errno == ESRCH || errno == EPROTO)
				continue; /* an answer to an earlier, lost request */
			switch (errno) {
			case ENOMEM: return RES_NOMEM;
			case ENOBUFS: return RES_NOBUFS;
			case ENOENT: return RES_NOENT;
			/* the last dump, cut short here, still runs on the socket */
			case EBUSY: return RES_BUSY;
			default: other_errno = errno; return RES_OTHER;
			}
		}
		/* MNL_CB_OK: a dump goes on */
	}
}

static int ignore_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

static int one_write(unsigned long i, unsigned int base)
{
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	uint16_t port = base + (i / 3) % 16;

	switch (i % 3) {
	case 0:
	case 1:
		nlh = start(family, NLM_F_ACK, i % 3 ? LEMONADE_CMD_DEL_PORT : LEMONADE_CMD_ADD_PORT);
		nest = mnl_attr_nest_start(nlh, LEMONADE_A_PORT);
		mnl_attr_put_u16(nlh, LEMONADE_PORT_A_PORT, port);
		if (i % 3 == 0)
			mnl_attr_put_u8(nlh, LEMONADE_PORT_A_PROTO, LEMONADE_PROTO_SMTP);
		mnl_attr_nest_end(nlh, nest);
		break;
	default:
		nlh = start(family, NLM_F_ACK, LEMONADE_CMD_SET_CONFIG);
		mnl_attr_put_u32(nlh, LEMONADE_A_TIMEOUT, (i / 3) % 2 ? 10800 : 7440);
		break;
	}
	return transact(nlh, ignore_cb, NULL);
}

static int one_dump(unsigned long i)
{
	static const uint8_t cmds[] = {
		LEMONADE_CMD_GET_FLOWS, LEMONADE_CMD_GET_CONFIG, LEMONADE_CMD_GET_STATS
	};
	uint8_t cmd = cmds[i % 3];

	return transact(start(family, cmd == LEMONADE_CMD_GET_FLOWS ? NLM_F_DUMP : NLM_F_ACK, cmd),
			ignore_cb, NULL);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const char *const names[RES_MAX] = {
		"ok", "ENOMEM", "ENOBUFS", "lost", "ENOENT", "EBUSY", "other"
	};
	unsigned long max = 1000000, i, failed;
	double secs = 10, rate = 0, t0, next;
	unsigned int base = 20000;
	const char *mode = NULL;
	struct timeval tv = { .tv_sec = 5 };
	struct nlmsghdr *nlh;
	bool bad;
	int opt, r, fd;

	setvbuf(stdout, outbuf, _IOLBF, sizeof(outbuf));
	while ((opt = getopt(argc, argv, "m:t:n:r:p:f")) != -1) {
		switch (opt) {
		case 'm': mode = optarg; break;
		case 't': secs = atof(optarg); break;
		case 'n': max = strtoul(optarg, NULL, 10); break;
		case 'r': rate = atof(optarg); break;
		case 'p': base = strtoul(optarg, NULL, 10); break;
		case 'f': inject = true; break;
		default: mode = NULL; optind = argc; break;
		}
	}
	if (!mode || (strcmp(mode, "write") && strcmp(mode, "dump")) || secs <= 0 ||
	    base < 1 || base > 65535 - 16) {
		fprintf(stderr, "usage: nlstress -m write|dump [-t SECONDS] [-n MAX] [-r PER_SECOND] [-p BASE] [-f]\n");
		return 2;
	}
	nl = mnl_socket_open(NETLINK_GENERIC);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("nlstress: netlink socket");
		return 2;
	}
	portid = mnl_socket_get_portid(nl);
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	nlh = start(GENL_ID_CTRL, NLM_F_ACK, CTRL_CMD_GETFAMILY);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, LEMONADE_GENL_NAME);
	if (transact(nlh, resolve_cb, &family) != RES_OK || !family) {
		fprintf(stderr, "nlstress: family \"%s\" not found\n", LEMONADE_GENL_NAME);
		return 4;
	}
	if (inject) {
		fd = open("/proc/self/make-it-fail", O_WRONLY);
		if (fd < 0 || write(fd, "1", 1) != 1) {
			perror("nlstress: /proc/self/make-it-fail");
			return 2;
		}
		close(fd);
	}
	t0 = now();
	next = t0;
	for (i = 0; i < max && now() - t0 < secs; i++) {
		if (rate > 0) {
			struct timespec ts;

			next += 1 / rate;
			ts.tv_sec = (time_t)next;
			ts.tv_nsec = (long)((next - ts.tv_sec) * 1e9);
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		}
		r = mode[0] == 'w' ? one_write(i, base) : one_dump(i);
		res[r]++;
	}
	/* opening the file allocates too: try until injection is off */
	for (r = 0; inject && r < 1000; r++) {
		fd = open("/proc/self/make-it-fail", O_WRONLY);
		if (fd < 0)
			continue;
		opt = write(fd, "0", 1);
		close(fd);
		if (opt == 1)
			break;
	}
	failed = i - res[RES_OK];
	printf("nlstress: %s: %lu requests in %.1f s, %lu ok, %lu failed (", mode, i,
	       now() - t0, res[RES_OK], failed);
	for (r = 1; r < RES_MAX; r++)
		printf("%s%s %lu", r > 1 ? ", " : "", names[r], res[r]);
	if (res[RES_OTHER])
		printf("; last other error: %s", strerror(other_errno));
	printf(")\n");
	bad = res[RES_OTHER] || (!inject && failed);
	return bad ? 1 : 0;
}
