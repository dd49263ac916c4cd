#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Real servers in the server namespace: Postfix (submission on 587,
# STARTTLS required before mail) and Dovecot (IMAP on 143, STARTTLS), each
# with a private configuration (selftests/real/) in the temp dir and a
# self-signed certificate made here. An NFQUEUE program in the gateway masks
# STARTTLS as XXXXXXXA in their replies. With the module (policy restore,
# the default) Python's smtplib and imaplib in the client namespace complete
# STARTTLS through the gateway and every masked segment is restored; the
# guard's inspected-bytes counter grows during the plaintext negotiation, by
# no more than the plaintext bytes, and not at all over a few KB of TLS
# records afterwards; "lemonctl flows" shows the client's flow with guard
# "done" and its own inspected bytes unchanged from then on. Stock: the
# clients see XXXXXXXA and refuse STARTTLS.
#
# Client and server namespaces reach the documentation ranges only (an nft
# table drops anything else; the test fails if it dropped a packet).
# LEMONADE_PCAP=1 captures the gateway's two links into $LEMONADE_OUT; the
# servers' logs and the clients' results go to $LEMONADE_OUT/guard_real/.
source "$(dirname "$0")/lib.sh"

REAL=$HERE/real
RD=$TMPD/real
ROUNDS=12

checktool "test -x /usr/sbin/postfix -a -x /usr/lib/postfix/sbin/master" \
	"find postfix (selftests/install-deps.sh installs it)"
checktool "test -x /usr/sbin/dovecot -a -x /usr/lib/dovecot/imap-login" \
	"find dovecot-imapd (selftests/install-deps.sh installs it)"
checktool "getent passwd postfix dovecot dovenull" "find the postfix and dovecot users"
checktool "openssl version" "run openssl"
checktool "jq --version" "run jq"

# contain NS: nothing leaves NS but to the documentation ranges; what is
# dropped is counted and its destination (and socket owner) remembered
contain() {
	ip netns exec "$1" nft -f - <<-EOF
	table inet contain {
		counter leaked { }
		set dst4 { typeof ip daddr . meta l4proto . meta skuid; size 64; flags dynamic; }
		set dst6 { typeof ip6 daddr . meta l4proto . meta skuid; size 64; flags dynamic; }
		chain out {
			type filter hook output priority filter; policy accept;
			oif lo accept
			ip daddr { 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 } accept
			ip6 daddr { 2001:db8::/32, fe80::/10, ff00::/8 } accept
			meta nfproto ipv4 add @dst4 { ip daddr . meta l4proto . meta skuid }
			meta nfproto ipv6 add @dst6 { ip6 daddr . meta l4proto . meta skuid }
			counter name leaked drop
		}
	}
	EOF
}

# leaked NS: "packets dropped by contain; destinations"
leaked() {
	local n d
	n=$(ip netns exec "$1" nft list counter inet contain leaked |
		awk '/packets/ { print $2 }')
	d=$(ip netns exec "$1" nft list set inet contain dst4
	    ip netns exec "$1" nft list set inet contain dst6)
	echo "$n; $(echo "$d" | sed -n 's/.*elements = { \(.*\) }.*/\1/p' | tr '\n' ' ')"
}

# subst TEMPLATE DIR OUT: a configuration of selftests/real/ for this run
subst() {
	sed -e "s|@DIR@|$2|g" -e "s|@ADDR@|$S4|g" -e "s|@TLS@|$RD|g" "$1" > "$3"
}

# postfix_dirs: the instance's queue and data directories, as Postfix's
# postfix-files lists them
postfix_dirs() {
	local path type owner group mode rest
	while IFS=: read -r path type owner group mode rest; do
		[ "$type" = d ] || continue
		case $path in
		'$queue_directory'*) path=$RD/postfix/spool${path#\$queue_directory} ;;
		'$data_directory'*) path=$RD/postfix/lib${path#\$data_directory} ;;
		*) continue ;;
		esac
		[ "$owner" = '$mail_owner' ] && owner=postfix
		[ "$group" = '$setgid_group' ] && group=postdrop
		[ "$group" = - ] && group=root
		install -d -o "$owner" -g "$group" -m "$mode" "$path"
	done < /etc/postfix/postfix-files
}

real_up() {
	local t0=$SECONDS t1
	# the servers' unprivileged processes reach their directories in here
	chmod 755 "$TMPD"
	mkdir -p "$RD/postfix/etc" "$RD/dovecot"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -days 2 -subj /CN=mail.example.org \
		-keyout "$RD/key.pem" -out "$RD/cert.pem" > "$RD/openssl.log" 2>&1 ||
		{ echo "FAIL: openssl: $(cat "$RD/openssl.log")"; exit $ksft_fail; }
	t1=$SECONDS
	subst "$REAL/postfix/main.cf" "$RD/postfix" "$RD/postfix/etc/main.cf"
	subst "$REAL/postfix/master.cf" "$RD/postfix" "$RD/postfix/etc/master.cf"
	subst "$REAL/dovecot.conf" "$RD/dovecot" "$RD/dovecot/dovecot.conf"

	# the guest's hostname is in no hosts file: no DNS query for its domain
	ip netns exec "$S" env DOVECOT_HOSTDOMAIN=mail.example.org \
		dovecot -F -c "$RD/dovecot/dovecot.conf" \
		> "$RD/dovecot/stdout" 2>&1 &
	BG_PIDS+=($!)
	# "postfix start" would make these in its checks, a minute under TCG
	postfix_dirs
	POSTFIX_UP=1
	ip netns exec "$S" /usr/lib/postfix/sbin/master -c "$RD/postfix/etc" -w \
		> "$RD/postfix/start.log" 2>&1 ||
		{ echo "FAIL: postfix master: $(cat "$RD/postfix/start.log" "$RD/postfix/maillog" 2>/dev/null)"; exit $ksft_fail; }
	wait_for 120 sh -c "ip netns exec $S ss -Htln 'sport = :587' | grep -q ." ||
		{ echo "FAIL: postfix does not listen on 587: $(cat "$RD/postfix/maillog" 2>/dev/null)"; exit $ksft_fail; }
	wait_for 120 sh -c "ip netns exec $S ss -Htln 'sport = :143' | grep -q ." ||
		{ echo "FAIL: dovecot does not listen on 143: $(cat "$RD/dovecot/stdout" "$RD/dovecot/log" 2>/dev/null)"; exit $ksft_fail; }
	info "postfix $(postconf -c "$RD/postfix/etc" -h mail_version 2>/dev/null) and dovecot $(dovecot --version | cut -d' ' -f1) listen in the server namespace (certificate $((t1 - t0)) s, servers $((SECONDS - t1)) s): $(ip netns exec "$S" ss -Htln | awk '{ print $4 }' | tr '\n' ' ')"
}

real_down() {
	if [ -n "${LEMONADE_OUT:-}" ] && [ -d "$RD" ]; then
		local o="$LEMONADE_OUT/guard_real"
		mkdir -p "$o"
		cp "$RD/postfix/maillog" "$o/postfix.log" 2>/dev/null
		cp "$RD/dovecot/log" "$o/dovecot.log" 2>/dev/null
		cp "$TMPD/masker.log" "$o/masker.log" 2>/dev/null
		cp "$TMPD"/*.json "$TMPD"/*.err "$o/" 2>/dev/null
	fi
	if [ -n "${POSTFIX_UP:-}" ]; then
		ip netns exec "$S" postfix -c "$RD/postfix/etc" stop > /dev/null 2>&1
	fi
}
trap 'real_down; cleanup' EXIT

pcap() {
	[ "${LEMONADE_PCAP:-0}" = 1 ] && [ -n "${LEMONADE_OUT:-}" ] || return 0
	local l
	for l in gc gs; do
		ip netns exec "$G" tcpdump -U -n -i "$l" -w "$LEMONADE_OUT/guard_real-$l.pcap" \
			tcp > /dev/null 2>&1 &
		BG_PIDS+=($!)
	done
	sleep 1
}

# gstats: "restored strip_detected" of the guard in $G (only with the
# module: on stock Linux there is none to ask)
gstats() {
	ip netns exec "$G" lemonctl -j stats |
		jq -r '"\(.guard_restored) \(.guard_strip_detected)"'
}

# rewrites: segments the masker has rewritten so far
rewrites() {
	awk '/rewrote/ { n = $3 } END { print n + 0 }' "$TMPD/masker.log"
}

# client NAME PORT: Python's smtplib/imaplib through the gateway; the
# result (JSON, see real/client.py) is in $TMPD/NAME.json
client() {
	local name=$1 port=$2 probe="" flows="" t0=$SECONDS
	if [ "$STOCK" != 1 ]; then
		probe="ip netns exec $G lemonctl -j stats"
		flows="ip netns exec $G lemonctl -j flows port $port"
	fi
	ip netns exec "$C" timeout 240 $PY "$REAL/client.py" "$name" "$S4" "$port" \
		--rounds $ROUNDS --probe "$probe" --flows "$flows" \
		> "$TMPD/$name.json" 2> "$TMPD/$name.err"
	info "$name ($((SECONDS - t0)) s): $(cut -c1-900 "$TMPD/$name.json") $(tail -n 3 "$TMPD/$name.err" | tr '\n' ' ')"
}

topo_up
contain "$C"
contain "$S"
lemonade_load
gateway_only
info "topology up ($SECONDS s)"
real_up
masker_up mask
pcap

for t in "smtp 587 smtplib" "imap 143 imaplib"; do
	set -- $t
	name=$1 port=$2 lib=$3
	[ "$STOCK" = 1 ] || read -r r0 s0 < <(gstats)
	m0=$(rewrites)
	client "$name" "$port"
	[ "$STOCK" = 1 ] || read -r r1 s1 < <(gstats)
	m1=$(rewrites)
	ok=false tls="" error="" seen="" i0="" i1="" i2="" plain="" tlsup="" rounds=""
	f1="" f2=""
	eval "$(jq -r '@sh "ok=\(.ok) tls=\(.tls) error=\(.error) seen=\(.plain)
		i0=\(.inspected.before) i1=\(.inspected.tls_up) i2=\(.inspected.rounds)
		plain=\(.bytes.plain) tlsup=\(.bytes.tls_up) rounds=\(.bytes.rounds)
		f1=\(.flow.tls_up | if type == "object" then "\(.guard) \(.inspected)" else tostring end)
		f2=\(.flow.rounds | if type == "object" then "\(.guard) \(.inspected)" else tostring end)"' \
		"$TMPD/$name.json" 2>/dev/null)"
	if [ "$m1" -gt "$m0" ]; then
		info "$lib: the masker rewrote $((m1 - m0)) segments"
	else
		fail "$lib: the masker rewrote nothing (test setup): $(cat "$TMPD/masker.log")"
	fi
	# seen: what the client saw advertised before TLS
	if [ "$ok" = true ] && [[ $seen == *STARTTLS* ]] && [[ $seen != *XXXXXXXA* ]]; then
		pass "$lib: STARTTLS to $S4 port $port through the gateway ($tls, $ROUNDS rounds over TLS)"
	else
		fail "$lib: port $port: $error; advertised: $(echo "$seen" | cut -c1-300)"
	fi
	on_module "$lib: every masked segment restored (guard_restored)" || continue
	if [ "$r1" -gt "$r0" ] && [ $((r1 - r0)) -eq $((m1 - m0)) ]; then
		pass "$lib: restored counter +$((r1 - r0)) for $((m1 - m0)) masked segments (strip detected +$((s1 - s0)))"
	else
		fail "$lib: restored counter +$((r1 - r0)) for $((m1 - m0)) masked segments (strip detected +$((s1 - s0)))"
	fi
	# guard_inspected: before connecting, TLS up, after the rounds over TLS
	info "$lib: inspected $i0 -> $i1 (TLS up) -> $i2 (after $rounds bytes over TLS); TCP payload: $plain before STARTTLS, $tlsup when TLS was up"
	case "$i0 $i1 $i2 $plain $tlsup $rounds" in
	*[!0-9\ ]*) fail "$lib: counters not read: inspected $i0 / $i1 / $i2, bytes $plain / $tlsup / $rounds"; continue ;;
	esac
	# the STARTTLS command and its reply are plaintext too: at most 128 bytes
	if [ "$i1" -gt "$i0" ] && [ $((i1 - i0)) -le $((plain + 128)) ]; then
		pass "$lib: inspected +$((i1 - i0)) bytes during the plaintext negotiation ($plain plaintext bytes before STARTTLS, $((tlsup - plain)) more up to TLS established)"
	else
		fail "$lib: inspected +$((i1 - i0)) bytes up to TLS established (want 1..$((plain + 128)): $plain plaintext bytes before STARTTLS, $((tlsup - plain)) more with the TLS handshake)"
	fi
	if [ "$i2" -eq "$i1" ] && [ "$rounds" -ge 2048 ]; then
		pass "$lib: inspected unchanged ($i2) over $rounds bytes of TLS"
	else
		fail "$lib: inspected $i1 -> $i2 over $rounds bytes of TLS (want unchanged, >= 2048 bytes)"
	fi
	# the same, per flow, from "lemonctl -j flows": the guard is done with
	# the client's flow once TLS is up, and its byte count stays put
	read -r g1 n1 <<< "$f1"
	read -r g2 n2 <<< "$f2"
	if [ "$g1" = done ] && [ "$g2" = done ] && [ "$n1" -gt 0 ] 2>/dev/null &&
		[ "$n1" -le $((plain + 128)) ] && [ "$n2" = "$n1" ]; then
		pass "$lib: lemonctl flows: guard done, the flow's inspected bytes $n1 when TLS was up and $n2 after the rounds"
	else
		fail "$lib: lemonctl flows: guard/inspected \"$f1\" when TLS was up, \"$f2\" after the rounds (want done, 1..$((plain + 128)), unchanged)"
	fi
done

for ns in "$C" "$S"; do
	l=$(leaked "$ns")
	[ "${l%%;*}" = 0 ] ||
		fail "${ns%%-*}: dropped packets to addresses outside the documentation ranges (test setup): $l"
done
info "done ($SECONDS s)"
exit $ret
