// SPDX-License-Identifier: GPL-2.0
/*
 * ctscale: fill a gateway's conntrack table with many flows fast, by
 * writing crafted IPv4 packets into the two veth ends that face it (for
 * stress_scale.sh; no socket on either side, nothing ever answers).
 *
 * ctscale CNS CDEV GCMAC SNS SDEV GSMAC MODE SRC DST0 NDST DPORT SPORT0 COUNT
 *
 *   CNS/CDEV   the client namespace (/run/netns/CNS) and its veth end;
 *              GCMAC is the MAC of the gateway's end of that pair
 *   SNS/SDEV   the same for the server side; GSMAC the gateway's end
 *   MODE       tcp: a full handshake per flow (SYN from the client side,
 *                   SYN/ACK from the server side, ACK), so conntrack sees
 *                   each flow ESTABLISHED and ASSURED;
 *              syn: only the SYN (an unanswered connection attempt);
 *              udp: one datagram from the client side (an unreplied entry)
 *   SRC        the client address; DST0 the first of NDST consecutive
 *              server addresses; DPORT the server port
 *   SPORT0     the first client port; flow i uses destination
 *              DST0 + i / (65536 - SPORT0) and port SPORT0 + i % (...)
 *   COUNT      flows
 *
 * Packets go out in batches of 64 flows (sendmmsg), each batch's SYNs
 * before its SYN/ACKs before its ACKs. Prints "COUNT SECONDS" when done.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <net/ethernet.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH	64
#define PKTLEN	40	/* IPv4 + TCP or UDP headers, no payload */

struct side {
	int fd;
	struct sockaddr_ll to;
};

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void usage(void)
{
	fprintf(stderr, "usage: ctscale CNS CDEV GCMAC SNS SDEV GSMAC tcp|syn|udp SRC DST0 NDST DPORT SPORT0 COUNT\n");
	exit(2);
}

static unsigned long num(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v > max) {
		fprintf(stderr, "ctscale: '%s' is not a number up to %lu\n", s, max);
		exit(2);
	}
	return v;
}

/* A packet socket on @dev in namespace @ns, sending to @mac. */
static void side_open(struct side *sd, const char *ns, const char *dev,
		      const char *mac)
{
	char path[256];
	unsigned int m[6];
	int nsfd, i;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		die(path);
	if (setns(nsfd, CLONE_NEWNET))
		die("setns");
	close(nsfd);
	sd->fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sd->fd < 0)
		die("socket(AF_PACKET)");
	memset(&sd->to, 0, sizeof(sd->to));
	sd->to.sll_family = AF_PACKET;
	sd->to.sll_protocol = htons(ETH_P_IP);
	sd->to.sll_ifindex = if_nametoindex(dev);
	if (!sd->to.sll_ifindex)
		die(dev);
	if (sscanf(mac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3],
		   &m[4], &m[5]) != 6) {
		fprintf(stderr, "ctscale: '%s' is not a MAC address\n", mac);
		exit(2);
	}
	sd->to.sll_halen = 6;
	for (i = 0; i < 6; i++)
		sd->to.sll_addr[i] = m[i];
}

static uint32_t sum16(const void *p, size_t len, uint32_t s)
{
	const uint8_t *b = p;

	for (; len > 1; len -= 2, b += 2)
		s += (uint32_t)b[0] << 8 | b[1];
	if (len)
		s += (uint32_t)b[0] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return htons(~s & 0xffff);
}

/*
 * One packet into @p: IPv4 @saddr:@sport -> @daddr:@dport (network order
 * addresses, host order ports); TCP with @flags, @seq, @ack, or UDP.
 */
static void craft(uint8_t *p, int udp, uint32_t saddr, uint32_t daddr,
		  uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq,
		  uint32_t ack)
{
	uint8_t *l4 = p + 20;
	unsigned int l4len = udp ? 8 : 20;
	uint8_t pseudo[12];
	uint16_t c;

	memset(p, 0, PKTLEN);
	p[0] = 0x45;
	p[2] = 0;
	p[3] = 20 + l4len;
	p[8] = 64;
	p[9] = udp ? IPPROTO_UDP : IPPROTO_TCP;
	memcpy(p + 12, &saddr, 4);
	memcpy(p + 16, &daddr, 4);
	c = fold(sum16(p, 20, 0));
	memcpy(p + 10, &c, 2);

	l4[0] = sport >> 8;
	l4[1] = sport;
	l4[2] = dport >> 8;
	l4[3] = dport;
	if (udp) {
		l4[5] = l4len;
	} else {
		l4[4] = seq >> 24;
		l4[5] = seq >> 16;
		l4[6] = seq >> 8;
		l4[7] = seq;
		l4[8] = ack >> 24;
		l4[9] = ack >> 16;
		l4[10] = ack >> 8;
		l4[11] = ack;
		l4[12] = 5 << 4;
		l4[13] = flags;
		l4[14] = 0xfa;	/* window 64240 */
		l4[15] = 0xf0;
	}
	memcpy(pseudo, &saddr, 4);
	memcpy(pseudo + 4, &daddr, 4);
	pseudo[8] = 0;
	pseudo[9] = p[9];
	pseudo[10] = 0;
	pseudo[11] = l4len;
	c = fold(sum16(l4, l4len, sum16(pseudo, 12, 0)));
	if (udp && !c)
		c = 0xffff;
	memcpy(l4 + (udp ? 6 : 16), &c, 2);
}

static void send_all(struct side *sd, uint8_t pkts[][PKTLEN], unsigned int n)
{
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	unsigned int i, done = 0;
	int r;

	for (i = 0; i < n; i++) {
		iov[i].iov_base = pkts[i];
		iov[i].iov_len = pkts[i][3];
		memset(&msg[i], 0, sizeof(msg[i]));
		msg[i].msg_hdr.msg_name = &sd->to;
		msg[i].msg_hdr.msg_namelen = sizeof(sd->to);
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
	}
	while (done < n) {
		r = sendmmsg(sd->fd, msg + done, n - done, 0);
		if (r < 0) {
			if (errno == ENOBUFS || errno == EAGAIN) {
				usleep(1000);
				continue;
			}
			die("sendmmsg");
		}
		done += r;
	}
}

#define SYN	0x02
#define ACK	0x10

int main(int argc, char **argv)
{
	static uint8_t syn[BATCH][PKTLEN], synack[BATCH][PKTLEN], ack[BATCH][PKTLEN];
	unsigned long ndst, count, i, span, dport, sport0;
	struct side c, s;
	struct in_addr src, dst0;
	struct timespec t0, t1;
	int mode;

	if (argc != 14)
		usage();
	if (!strcmp(argv[7], "tcp"))
		mode = 0;
	else if (!strcmp(argv[7], "syn"))
		mode = 1;
	else if (!strcmp(argv[7], "udp"))
		mode = 2;
	else
		usage();
	if (!inet_aton(argv[8], &src) || !inet_aton(argv[9], &dst0))
		usage();
	ndst = num(argv[10], 65536);
	dport = num(argv[11], 65535);
	sport0 = num(argv[12], 65535);
	count = num(argv[13], 100000000);
	span = 65536 - sport0;
	if (!ndst || !span || count > ndst * span) {
		fprintf(stderr, "ctscale: %lu flows do not fit in %lu addresses x %lu ports\n",
			count, ndst, span);
		exit(2);
	}
	side_open(&s, argv[4], argv[5], argv[6]);
	side_open(&c, argv[1], argv[2], argv[3]);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < count; i += BATCH) {
		unsigned int k, n = count - i < BATCH ? count - i : BATCH;

		for (k = 0; k < n; k++) {
			unsigned long f = i + k;
			uint32_t d = htonl(ntohl(dst0.s_addr) + f / span);
			uint16_t sp = sport0 + f % span;
			uint32_t isn_c = 0x10000000u + f * 7919u;
			uint32_t isn_s = 0x80000000u + f * 104729u;

			craft(syn[k], mode == 2, src.s_addr, d, sp, dport, SYN,
			      isn_c, 0);
			craft(synack[k], 0, d, src.s_addr, dport, sp, SYN | ACK,
			      isn_s, isn_c + 1);
			craft(ack[k], 0, src.s_addr, d, sp, dport, ACK,
			      isn_c + 1, isn_s + 1);
		}
		send_all(&c, syn, n);
		if (mode == 0) {
			send_all(&s, synack, n);
			send_all(&c, ack, n);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%lu %.3f\n", count, (double)(t1.tv_sec - t0.tv_sec) +
	       (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
