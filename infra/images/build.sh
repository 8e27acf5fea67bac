#!/usr/bin/env bash
# make images: every image of the compose stack, built with podman (preferred when present) or docker, offline:
#   - a Debian bookworm base made here with debootstrap from the apt mirror and imported (cached in .state/images),
#   - each .NET service from a self-contained publish made on this host (no SDK or runtime image is pulled),
#   - RabbitMQ (Debian's rabbitmq-server + management), a curl image for one-shot scripts, and, for tests only, a
#     MongoDB stand-in (the wire emulator) and a stub model.
# Images are named localhost/stable-alignment/<name>:latest, the names docker-compose.yml uses by default.
# Hosts with registries can use `docker compose build` with infra/docker/Dockerfile instead.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
state="$root/.state/images"
mkdir -p "$state"
if command -v podman > /dev/null; then
  engine=podman
  export CONTAINERS_CONF=${CONTAINERS_CONF:-$root/infra/containers/containers.conf}
elif command -v docker > /dev/null && docker info > /dev/null 2>&1; then
  engine=docker
else
  echo "make images: neither podman nor a running docker engine; install podman (apt-get install podman runc netavark aardvark-dns)" >&2
  exit 2
fi
prefix=localhost/stable-alignment
base="$prefix/debian:bookworm"
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# podman keeps HEALTHCHECK only in the docker image format.
format=(); [ "$engine" = podman ] && format=(--format docker)
build() { "$engine" build "${format[@]}" --network=host -q "$@" > /dev/null; }
# An image rebuilt under the same tag leaves the previous one untagged (about 0.5 to 1 GB for a .NET service):
# remove it unless a container still uses it, so repeated builds do not fill the disk.
image_id() { "$engine" image inspect --format '{{.Id}}' "$1" 2> /dev/null || true; }
retag_cleanup() {
  local old=$1 tag=$2 new
  new=$(image_id "$tag")
  if [ -n "$old" ] && [ "$old" != "$new" ]; then "$engine" rmi "$old" > /dev/null 2>&1 || true; fi
}
# build_tagged TAG ARGS…: build, then drop the image the tag named before.
build_tagged() { local tag=$1 old; shift; old=$(image_id "$tag"); build -t "$tag" "$@"; retag_cleanup "$old" "$tag"; }
clock() { date +%s; }
started=$(clock)

if ! "$engine" image exists "$base" 2> /dev/null && ! "$engine" image inspect "$base" > /dev/null 2>&1; then
  if [ ! -s "$state/debian-bookworm.tar" ]; then
    command -v debootstrap > /dev/null || { echo "make images: debootstrap is missing (apt-get install debootstrap)" >&2; exit 2; }
    echo "base: debootstrap bookworm from $mirror"
    rm -rf "$state/rootfs"
    debootstrap --variant=minbase bookworm "$state/rootfs" "$mirror" > "$state/debootstrap.log" 2>&1 \
      || { echo "debootstrap failed; see $state/debootstrap.log" >&2; exit 1; }
    tar -C "$state/rootfs" -cf "$state/debian-bookworm.tar.tmp" . && mv "$state/debian-bookworm.tar.tmp" "$state/debian-bookworm.tar"
    rm -rf "$state/rootfs"
  fi
  echo "base: importing $state/debian-bookworm.tar"
  "$engine" import "$state/debian-bookworm.tar" "$base" > /dev/null
fi

declare -A names=([AgentRunner]=agent-runner [ObserverRater]=observer-rater [MemoryStore]=memory-store
  [DatasetBuilder]=dataset-builder [Trainer]=trainer [Evaluator]=evaluator [Gateway]=gateway [ModelServer]=model-server)
# ONLY="evaluator rabbitmq" rebuilds just those images (the base must exist).
wanted() { [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $1 "* ]]; }
for service in AgentRunner ObserverRater MemoryStore DatasetBuilder Trainer Evaluator Gateway ModelServer; do
  wanted "${names[$service]}" || continue
  out="$state/publish/$service"
  echo "${names[$service]}: publishing (self-contained, linux-x64)"
  rm -rf "$out"
  dotnet publish "services/$service/StableAlignment.$service.Host" -c Release -r linux-x64 --self-contained -o "$out" \
    -nologo -v quiet -clp:ErrorsOnly /p:TorchDevice=cpu /p:GenerateDocumentationFile=false > "$state/publish-$service.log" 2>&1 \
    || { cat "$state/publish-$service.log" >&2; exit 1; }
  if [ "$service" = Evaluator ]; then
    cp -r data/benchmarks "$out/default-benchmarks"
  fi
  echo "${names[$service]}: building $prefix/${names[$service]}:latest"
  build_tagged "$prefix/${names[$service]}:latest" -f infra/docker/Dockerfile.offline --build-arg SERVICE="$service" --build-arg BASE="$base" "$out"
  rm -rf "$out"   # the image holds it now
done

wanted rabbitmq && { echo "rabbitmq: building"; build_tagged "$prefix/rabbitmq:latest" --build-arg BASE="$base" infra/docker/rabbitmq; }
wanted tools && { echo "tools: building"; build_tagged "$prefix/tools:latest" --build-arg BASE="$base" -f infra/docker/Dockerfile.tools infra/docker; }
if wanted mongo-standin; then
  echo "mongo-standin (tests only): building"
  cp infra/mongo-emulator/server.py infra/docker/mongo-standin/server.py
  build_tagged "$prefix/mongo-standin:latest" --build-arg BASE="$base" infra/docker/mongo-standin
  rm -f infra/docker/mongo-standin/server.py
fi
if wanted stub-model; then
  # The C# stub the tests use in process, published self-contained and run as a process in the container.
  echo "stub-model (tests only): publishing and building"
  out="$state/publish/StubModel"
  rm -rf "$out"
  dotnet publish tests/StableAlignment.StubModel -c Release -r linux-x64 --self-contained -o "$out" -nologo -v quiet -clp:ErrorsOnly \
    > "$state/publish-StubModel.log" 2>&1 || { cat "$state/publish-StubModel.log" >&2; exit 1; }
  cp infra/docker/stub-model/Dockerfile "$out/Dockerfile"
  build_tagged "$prefix/stub-model:latest" --build-arg BASE="$base" "$out"
  rm -rf "$out"
fi
echo "images built with $engine in $(( $(clock) - started )) s"
