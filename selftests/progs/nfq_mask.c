// SPDX-License-Identifier: GPL-2.0
/*
 * An inspecting component inside the gateway, as common appliances ship
 * it: an NFQUEUE program that rewrites the STARTTLS keyword in TCP
 * payload. Used by the guard selftests, never by the module.
 *
 * nfq_mask [-q QUEUE] [-m mask|remove] [-n MAX_PACKETS] [-t SECONDS]
 *   mask:   STARTTLS -> XXXXXXXA (same length, checksums fixed)
 *   remove: drops the keyword and one separator before it (length change)
 * Exits after MAX_PACKETS packets (default 100000) or SECONDS (default 600).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <libnetfilter_queue/libnetfilter_queue_ipv4.h>
#include <libnetfilter_queue/libnetfilter_queue_ipv6.h>
#include <libnetfilter_queue/libnetfilter_queue_tcp.h>
#include <libnetfilter_queue/pktbuff.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char kw[] = "STARTTLS";
static const char mask[] = "XXXXXXXA";
static int remove_mode;
static unsigned long rewritten;

static struct mnl_socket *nl;
static unsigned int portid;

static void *memmem_kw(void *hay, size_t len)
{
	return memmem(hay, len, kw, sizeof(kw) - 1);
}

/* Rewrite every occurrence; returns 1 if the packet changed. */
static int mangle(struct pkt_buff *pkb, int v6)
{
	struct tcphdr *th;
	unsigned char *p, *hit;
	unsigned int plen, off;
	int changed = 0, guard = 16;

	while (guard--) {
		if (v6) {
			struct ip6_hdr *ip6 = nfq_ip6_get_hdr(pkb);

			/* returns 1 when it found the header (IPv4's: 0) */
			if (!ip6 ||
			    nfq_ip6_set_transport_header(pkb, ip6, IPPROTO_TCP) != 1)
				return changed;
		} else {
			struct iphdr *ip = nfq_ip_get_hdr(pkb);

			if (!ip || ip->protocol != IPPROTO_TCP ||
			    nfq_ip_set_transport_header(pkb, ip))
				return changed;
		}
		th = nfq_tcp_get_hdr(pkb);
		if (!th)
			return changed;
		p = nfq_tcp_get_payload(th, pkb);
		plen = nfq_tcp_get_payload_len(th, pkb);
		if (!p || !plen)
			return changed;
		hit = memmem_kw(p, plen);
		if (!hit)
			return changed;
		off = hit - p;
		if (remove_mode) {
			/* "250-STARTTLS\r\n" loses its keyword; " STARTTLS" its word */
			unsigned int start = off, len = sizeof(kw) - 1;

			if (start && p[start - 1] == ' ') {
				start--;
				len++;
			}
			if (v6 ? nfq_tcp_mangle_ipv6(pkb, start, len, "", 0) < 0 :
				 nfq_tcp_mangle_ipv4(pkb, start, len, "", 0) < 0)
				return changed;
		} else if (v6 ? nfq_tcp_mangle_ipv6(pkb, off, sizeof(kw) - 1, mask,
						     sizeof(mask) - 1) < 0 :
				nfq_tcp_mangle_ipv4(pkb, off, sizeof(kw) - 1, mask,
						    sizeof(mask) - 1) < 0) {
			return changed;
		}
		changed = 1;
		rewritten++;
	}
	return changed;
}

static void verdict(uint32_t id, uint16_t queue, struct pkt_buff *pkb)
{
	char buf[MNL_SOCKET_BUFFER_SIZE + 0xffff];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, queue);

	nfq_nlmsg_verdict_put(nlh, id, NF_ACCEPT);
	if (pkb)
		nfq_nlmsg_verdict_put_pkt(nlh, pktb_data(pkb), pktb_len(pkb));
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		perror("verdict");
}

static int queue_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nlattr *attr[NFQA_MAX + 1] = { NULL };
	struct nfqnl_msg_packet_hdr *ph;
	struct nfgenmsg *nfg;
	struct pkt_buff *pkb;
	uint16_t plen;
	void *payload;
	int v6;

	(void)data;
	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR] ||
	    !attr[NFQA_PAYLOAD])
		return MNL_CB_ERROR;
	nfg = mnl_nlmsg_get_payload(nlh);
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	plen = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
	payload = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
	v6 = ntohs(ph->hw_protocol) == 0x86dd ||
	     (plen && (((unsigned char *)payload)[0] >> 4) == 6);
	pkb = pktb_alloc(v6 ? AF_INET6 : AF_INET, payload, plen, 256);
	if (!pkb) {
		verdict(ntohl(ph->packet_id), ntohs(nfg->res_id), NULL);
		return MNL_CB_OK;
	}
	verdict(ntohl(ph->packet_id), ntohs(nfg->res_id),
		mangle(pkb, v6) ? pkb : NULL);
	pktb_free(pkb);
	return MNL_CB_OK;
}

int main(int argc, char **argv)
{
	char buf[MNL_SOCKET_BUFFER_SIZE + 0xffff];
	unsigned long max = 100000, n = 0;
	unsigned int queue = 0, secs = 600;
	struct nlmsghdr *nlh;
	time_t end;
	int opt;

	while ((opt = getopt(argc, argv, "q:m:n:t:")) != -1) {
		switch (opt) {
		case 'q': queue = atoi(optarg); break;
		case 'm': remove_mode = !strcmp(optarg, "remove"); break;
		case 'n': max = strtoul(optarg, NULL, 10); break;
		case 't': secs = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: nfq_mask [-q QUEUE] [-m mask|remove] [-n N] [-t S]\n");
			return 2;
		}
	}
	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("netlink");
		return 1;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		perror("bind queue");
		return 1;
	}
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_GSO));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO));
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		perror("queue params");
		return 1;
	}
	printf("nfq_mask: queue %u, mode %s\n", queue, remove_mode ? "remove" : "mask");
	fflush(stdout);
	end = time(NULL) + secs;
	while (n < max && time(NULL) < end) {
		struct pollfd pfd = { .fd = mnl_socket_get_fd(nl), .events = POLLIN };
		int ret;

		if (poll(&pfd, 1, 500) <= 0)
			continue;
		ret = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (ret < 0) {
			if (errno == ENOBUFS)
				continue;
			perror("recv");
			return 1;
		}
		if (mnl_cb_run(buf, ret, 0, portid, queue_cb, NULL) < 0) {
			perror("cb");
			return 1;
		}
		n++;
		if (rewritten) {
			printf("nfq_mask: rewrote %lu\n", rewritten);
			fflush(stdout);
		}
	}
	mnl_socket_close(nl);
	return 0;
}
