#!/usr/bin/env bash
# Apache Kafka in KRaft mode (one process: broker and controller) for the Kafka hook suites and
# benchmarks, from its jars on Maven Central: a two-dependency pom (kafka_2.13 and an slf4j
# binding) resolved once by Maven into the cache, whose classpath is kept beside it. Listens on
# free 127.0.0.1 ports; prints the variable to export, everything else goes to stderr:
#
#   eval "$(bash test/tools/start-kafka.sh /tmp/cds-kafka)"
#   kill $(cat /tmp/cds-kafka/pids)              # stop it
#
# Needs Java 17+ (Debian `default-jre-headless`) and Maven (`maven`, installed here when missing).
set -euo pipefail
DIR=${1:-/tmp/cds-kafka}
CACHE="${CDS_CI_CACHE:-$HOME/.cache/cds-ts}"
KAFKA_VERSION=4.1.1
# The slf4j-api version Kafka itself depends on: a binding of another line is not loaded.
SLF4J_VERSION=1.7.36
TOOLS="$CACHE/kafka-$KAFKA_VERSION"

say() { echo "$*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

install_debian() {
	say "installing Debian's $*"
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}
command -v java >/dev/null 2>&1 || install_debian default-jre-headless
command -v mvn >/dev/null 2>&1 || install_debian maven

# The classpath, resolved once: Maven's own repository lives in the cache too (kept when the
# classpath is redone), so a cached classpath always names jars that exist. Marked complete
# last: a half-resolved one is redone.
if [ ! -f "$TOOLS/classpath.complete" ]; then
	say "resolving Kafka $KAFKA_VERSION from Maven Central into $TOOLS"
	rm -f "$TOOLS/classpath.txt"
	mkdir -p "$TOOLS"
	cat >"$TOOLS/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>cds-ts</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>$SLF4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
	mvn -q -B -Dstyle.color=never -f "$TOOLS/pom.xml" -Dmaven.repo.local="$CACHE/maven-repository" dependency:build-classpath \
		-Dmdep.outputFile="$TOOLS/classpath.txt" >&2
	touch "$TOOLS/classpath.complete"
fi
CP=$(cat "$TOOLS/classpath.txt")

if [ -f "$DIR/pids" ]; then kill $(cat "$DIR/pids") 2>/dev/null || true; sleep 1; fi
rm -rf "$DIR"
mkdir -p "$DIR/data"
BP=$(free_port)
CPORT=$(free_port)
cat >"$DIR/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$BP,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$BP
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$DIR/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
auto.create.topics.enable=true
group.initial.rebalance.delay.ms=0
EOF
JAVA_OPTS=(-Xmx512m -Xms256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dorg.slf4j.simpleLogger.defaultLogLevel=warn
	-Dorg.slf4j.simpleLogger.log.kafka.server.KafkaRaftServer=info)
java "${JAVA_OPTS[@]}" -cp "$CP" kafka.tools.StorageTool format -t "$(python3 -c 'import uuid,base64; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')" \
	-c "$DIR/server.properties" >"$DIR/format.log" 2>&1 || { cat "$DIR/format.log" >&2; exit 1; }
nohup java "${JAVA_OPTS[@]}" -cp "$CP" kafka.Kafka "$DIR/server.properties" >"$DIR/kafka.log" 2>&1 &
echo $! >"$DIR/pids"

# Listening is not serving: the broker says when it has joined its quorum and serves.
for _ in $(seq 1 300); do
	if grep -q "Kafka Server started" "$DIR/kafka.log" && (exec 3<>"/dev/tcp/127.0.0.1/$BP") 2>/dev/null; then
		echo "export KAFKA_BROKERS=127.0.0.1:$BP"
		exit 0
	fi
	kill -0 "$(cat "$DIR/pids")" 2>/dev/null || { say "kafka exited:"; tail -30 "$DIR/kafka.log" >&2; exit 1; }
	sleep 0.2
done
say "kafka did not start on 127.0.0.1:$BP within 60 s"
tail -30 "$DIR/kafka.log" >&2
exit 1
