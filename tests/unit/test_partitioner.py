"""The producers' partitioner places keys where every Kafka client places them."""

from __future__ import annotations

from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given
from hypothesis import strategies as st

from newsalert.kafka import make_producer, murmur2, partition_for
from newsalert.settings import Settings

#: Apache Kafka's own vectors (``UtilsTest.testMurmur2``), signed 32-bit as Java returns them.
JAVA_VECTORS = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


def test_murmur2_matches_the_java_client() -> None:
    for key, signed in JAVA_VECTORS.items():
        assert murmur2(key) == signed & 0xFFFFFFFF, key


@given(st.binary(max_size=200))
def test_murmur2_matches_aiokafka(key: bytes) -> None:
    assert murmur2(key) == aiokafka_murmur2(key)


@given(st.binary(max_size=64), st.integers(min_value=1, max_value=50))
def test_partition_is_the_default_partitioners(key: bytes, count: int) -> None:
    partitions = list(range(count))
    expected = (aiokafka_murmur2(key) & 0x7FFFFFFF) % count
    assert partition_for(key, partitions, partitions[:1]) == expected


def test_a_record_without_key_goes_to_an_available_partition() -> None:
    assert {partition_for(None, [0, 1, 2], [2]) for _ in range(20)} == {2}
    assert partition_for(None, [0, 1, 2], []) in {0, 1, 2}


async def test_producers_use_it() -> None:
    producer = make_producer(Settings())
    try:
        assert producer._partitioner is partition_for  # no public accessor
    finally:
        await producer.stop()  # never started: only releases it
