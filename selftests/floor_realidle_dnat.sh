#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Real idle, destination NAT (the listed port is the server's), IPv4 and IPv6 (selftests/lib_idle.bash): on a gateway
# whose conntrack forgets a flow after 4 s and drops the packets of a
# forgotten one, a client idles 20 s and more on connections to 143, 587
# and 674 and then uses the same connections again; a dormant client
# leaves the server's data unacknowledged (seen in the server's sockets)
# for as long and then takes it. Both work with the module; an unlisted
# control connection idle as long dies (and on stock Linux, every one).
# timeout: 600
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_idle.bash"

idle_run dnat
exit $ret
