# SPDX-License-Identifier: GPL-2.0
# bash completion for lemonctl(8)

_lemonctl_reply() {
	mapfile -t COMPREPLY < <(compgen -W "$1" -- "$cur")
}

_lemonctl_ports() {
	# the listed ports, from the running module (nothing if not loaded)
	"${words[0]}" ${netns:+-n "$netns"} port list 2>/dev/null |
		while read -r _ port _; do printf '%s\n' "$port"; done
}

# after "icmp", its own keywords come first
_lemonctl_set_words() {
	local i
	for ((i = cword - 1; i > 0; i--)); do
		case ${words[i]} in
		icmp)
			_lemonctl_reply "absorb pass states validate codes4 codes6 timeout enable pressure guard force"
			return
			;;
		timeout | enable | pressure | guard | force | set) break ;;
		esac
	done
	_lemonctl_reply "timeout enable pressure icmp guard force"
}

_lemonctl() {
	local cur prev words cword
	_init_completion || return

	local i obj="" cmd="" netns="" args=()
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-n | --netns)
			netns=${words[i + 1]}
			((i++))
			;;
		-b | --batch)
			((i++))
			;;
		-*) ;;
		*)
			if [[ -z $obj ]]; then
				obj=${words[i]}
			elif [[ -z $cmd && ($obj == port || $obj == stats || $obj == config) ]]; then
				cmd=${words[i]}
			else
				args+=("${words[i]}")
			fi
			;;
		esac
	done

	case $prev in
	-n | --netns)
		_lemonctl_reply "$(ip netns list 2>/dev/null | cut -d' ' -f1)"
		return
		;;
	-b | --batch)
		_filedir
		return
		;;
	timeout)
		_lemonctl_reply "unlimited 7440 2h4m 1d"
		return
		;;
	enable | validate)
		_lemonctl_reply "on off"
		return
		;;
	states)
		_lemonctl_reply "established all"
		return
		;;
	codes4)
		_lemonctl_reply "0,1,5 none"
		return
		;;
	codes6)
		_lemonctl_reply "0,2,3 none"
		return
		;;
	guard)
		_lemonctl_reply "restore reset log off buffers"
		return
		;;
	count)
		return
		;;
	proto)
		_lemonctl_reply "imap smtp acap none"
		return
		;;
	pressure)
		_lemonctl_reply "high low"
		return
		;;
	high | low)
		return
		;;
	port)
		if [[ $obj == flows ]]; then
			_lemonctl_reply "$(_lemonctl_ports)"
			return
		fi
		;;
	esac

	if [[ $cur == -* ]]; then
		_lemonctl_reply "-j --json -p --pretty -t --timestamp -n --netns -b --batch -V --version -h --help"
		return
	fi

	if [[ -z $obj ]]; then
		_lemonctl_reply "show set config port stats flows monitor save help"
		return
	fi

	case $obj in
	set)
		_lemonctl_set_words
		;;
	config)
		if [[ -z $cmd ]]; then
			_lemonctl_reply "show set help"
		elif [[ $cmd == set ]]; then
			_lemonctl_set_words
		fi
		;;
	flows)
		((${#args[@]} == 0)) && _lemonctl_reply "port help"
		;;
	monitor)
		_lemonctl_reply "count timeout help"
		;;
	port)
		if [[ -z $cmd ]]; then
			_lemonctl_reply "list show add del flush help"
		elif [[ $cmd == add ]]; then
			if ((${#args[@]} == 0)); then
				_lemonctl_reply "143 587 674"
			else
				_lemonctl_reply "proto timeout force"
			fi
		elif [[ $cmd == del || $cmd == delete ]] && ((${#args[@]} == 0)); then
			_lemonctl_reply "$(_lemonctl_ports)"
		fi
		;;
	stats)
		[[ -z $cmd ]] && _lemonctl_reply "show reset help"
		;;
	help)
		((${#args[@]} == 0)) &&
			_lemonctl_reply "show set config port stats flows monitor save"
		;;
	esac
} &&
	complete -F _lemonctl lemonctl
