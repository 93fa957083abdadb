#!/bin/sh
# tools/swarm.sh: noded as a Docker Swarm stack (deploy/swarm/stack.yml) on
# this machine; what `make swarm-up N=16` and `make swarm-down` run.
#
#   tools/swarm.sh up [N]     build nothing (make builds the image first),
#                             make this engine a single-node swarm if it is in
#                             none (saying so, and noting it in the state
#                             file), create the API token, deploy N replicas
#                             (default 16), wait until N are healthy, print
#                             how to reach their APIs
#   tools/swarm.sh down       remove the stack; leave the swarm only if `up`
#                             created it
#   tools/swarm.sh status     the service's tasks
#
# Environment: STACK (default noded), STATE_DIR (default build/swarm: the
# state file and the API token), IMAGE (default noded:latest), WAIT (seconds
# to wait for health, default 180).
set -eu
cd "$(dirname "$0")/.."
STACK=${STACK:-noded}
STATE_DIR=${STATE_DIR:-build/swarm}
IMAGE=${IMAGE:-noded:latest}
WAIT=${WAIT:-180}
STATE=$STATE_DIR/state
TOKEN=$STATE_DIR/api-token
SERVICE=${STACK}_node

say() { echo "swarm: $*"; }
die() { echo "swarm: $*" >&2; exit 1; }

swarm_state() {
	docker info -f '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo unknown
}

# Running tasks of the service that docker reports healthy.
healthy_count() {
	docker ps -q --filter "label=com.docker.swarm.service.name=$SERVICE" \
	    --filter health=healthy | wc -l
}

up() {
	n=${1:-16}
	case $n in ''|*[!0-9]*) die "N must be a number of replicas, not '$n'" ;; esac
	[ "$n" -ge 1 ] || die "N must be at least 1"
	command -v docker >/dev/null 2>&1 || die "docker: command not found"
	docker info >/dev/null 2>&1 || die "no Docker engine answers ('docker info' fails)"
	docker image inspect "$IMAGE" >/dev/null 2>&1 ||
	    die "no image $IMAGE: run 'make image' (make swarm-up does)"
	mkdir -p "$STATE_DIR"
	st=$(swarm_state)
	if [ "$st" = active ]; then
		if [ -f "$STATE" ] && grep -q '^created_swarm=1' "$STATE"; then
			say "swarm active (created by an earlier 'up': 'down' leaves it)"
		else
			say "swarm already active: using it ('down' will not leave it)"
			echo "created_swarm=0" > "$STATE"
		fi
	elif [ "$st" = inactive ]; then
		say "no swarm active: initialising a single-node swarm" \
		    "(docker swarm init; 'down' leaves it again)"
		if ! out=$(docker swarm init 2>&1); then
			# Several addresses and none chosen: this host alone needs none of them.
			out=$(docker swarm init --advertise-addr 127.0.0.1 2>&1) ||
			    die "docker swarm init failed: $out"
		fi
		echo "created_swarm=1" > "$STATE"
	else
		die "this engine's swarm state is '$st' (pending or error): fix" \
		    "it first ('docker swarm leave --force' if it is a leftover)"
	fi
	if [ ! -s "$TOKEN" ]; then
		umask 077
		head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$TOKEN"
		echo >> "$TOKEN"
		say "API token written to $TOKEN"
	fi
	token_abs=$(cd "$STATE_DIR" && pwd)/api-token
	if ! out=$(NODED_TOKEN_FILE=$token_abs REPLICAS=$n \
	    NODED_IMAGE=$IMAGE docker stack deploy --resolve-image never \
	    -c deploy/swarm/stack.yml "$STACK" 2>&1); then
		echo "$out" >&2
		die "docker stack deploy failed"
	fi
	say "stack $STACK deployed: $n replicas of $IMAGE; waiting until healthy"
	t0=$(date +%s)
	while :; do
		h=$(healthy_count)
		[ "$h" -ge "$n" ] && break
		if [ $(( $(date +%s) - t0 )) -ge "$WAIT" ]; then
			docker service ps --no-trunc "$SERVICE" | tail -n 20 >&2
			die "only $h of $n replicas healthy after $WAIT s"
		fi
		sleep 1
	done
	say "$n replicas healthy after $(( $(date +%s) - t0 )) s"
	cid=$(docker ps -q --filter "label=com.docker.swarm.service.name=$SERVICE" | head -n 1)
	cat <<HOW
swarm: the APIs listen on port 8000 inside each task, on the overlay network
swarm: ${STACK}_p2p, and every request needs the token in $TOKEN.  From here:
  docker ps --filter label=com.docker.swarm.service.name=$SERVICE
  docker exec $cid nodectl status          (nodectl sends the token itself)
  docker exec $cid nodectl peers
  docker service logs -f $SERVICE
  docker service scale $SERVICE=24
swarm: from another container on the network (attachable):
  docker run --rm --user 0 --network ${STACK}_p2p -v $token_abs:/token:ro \\
      --entrypoint nodectl $IMAGE --token-file /token --node <task IP>:8000 status
swarm: stop it with 'make swarm-down' (tools/swarm.sh down)
HOW
}

down() {
	command -v docker >/dev/null 2>&1 || die "docker: command not found"
	if [ "$(swarm_state)" = active ] &&
	    docker stack ls --format '{{.Name}}' | grep -qx "$STACK"; then
		docker stack rm "$STACK" >/dev/null
		say "stack $STACK removed; waiting for its containers and network"
		i=0
		while [ $i -lt 60 ]; do
			[ -z "$(docker ps -aq --filter "label=com.docker.stack.namespace=$STACK")" ] &&
			    [ -z "$(docker network ls -q --filter "label=com.docker.stack.namespace=$STACK")" ] &&
			    break
			sleep 1
			i=$((i + 1))
		done
	else
		say "no stack $STACK"
	fi
	if [ -f "$STATE" ] && grep -q '^created_swarm=1' "$STATE"; then
		if [ -n "$(docker stack ls --format "{{.Name}}" 2>/dev/null)" ] ||
		    [ -n "$(docker service ls -q 2>/dev/null)" ]; then
			say "the swarm was created by 'up' but runs other services now: not leaving it"
		else
			docker swarm leave --force >/dev/null && say "left the swarm 'up' had created"
		fi
	else
		say "the swarm was there before 'up': left as it is"
	fi
	rm -f "$STATE"
}

case ${1:-} in
up)	shift; up "$@" ;;
down)	down ;;
status)	docker service ps "$SERVICE" ;;
*)	echo "usage: tools/swarm.sh up [N] | down | status" >&2; exit 2 ;;
esac
