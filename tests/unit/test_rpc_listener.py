"""The plugin server's RPC loop: message framing over arbitrary recv chunks, and bounded buffers."""

import gc
import tracemalloc

import msgpack

from kong_plugins.rpc_listener import BIG_MESSAGE, _Codec, handler_name


def _messages(n: int, body: bytes = b"x") -> bytes:
    return b"".join(msgpack.packb([0, i, "plugin.HandleEvent", [{"InstanceId": 1, "Body": body}]])
                    for i in range(n))


def test_messages_split_anywhere_come_out_whole_and_in_order():
    stream = _messages(5, b"body" * 100)
    for chunk in (1, 7, 64, len(stream)):
        codec = _Codec()
        got = []
        for at in range(0, len(stream), chunk):
            got.extend(codec.feed(stream[at:at + chunk]))
        assert [m[1] for m in got] == [0, 1, 2, 3, 4]
        assert got[3][3][0]["Body"] == b"body" * 100


def test_buffers_return_to_their_small_size_after_a_big_message():
    codec = _Codec()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        big = _messages(1, b"b" * (4 * BIG_MESSAGE))
        got = [m for at in range(0, len(big), 65536) for m in codec.feed(big[at:at + 65536])]
        assert len(got) == 1 and len(codec.pack([1, 0, None, got[0][3][0]["Body"]])) > 4 * BIG_MESSAGE
        del got, big
        codec.shrink_if_idle()
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert retained < 512 * 1024, f"{retained} bytes kept after a 4 MiB message"


def test_a_half_received_message_keeps_its_buffer():
    codec = _Codec()
    big = _messages(1, b"b" * (2 * BIG_MESSAGE))
    first = list(codec.feed(big))
    second_half = _messages(1, b"tail")
    assert not list(codec.feed(second_half[:5]))      # the next message is only half here
    codec.shrink_if_idle()
    assert [m[3][0]["Body"] for m in codec.feed(second_half[5:])] == [b"tail"]
    assert len(first) == 1


def test_method_names_map_like_kong_pdk():
    assert handler_name("plugin.HandleEvent") == "handle_event"
    assert handler_name("plugin.StepMultiMap") == "step_multi_map"
    assert handler_name("plugin.GetStatus") == "get_status"
    assert handler_name("other.Thing") is None


def test_non_utf8_bytes_in_kong_strings_survive_the_round_trip():
    # lua-MessagePack packs every Lua string as a msgpack str, valid UTF-8 or not (a client's header bytes)
    raw = b"\x94\x00\x07\xaeplugin.StepLog\x91\xa3\xe9t\xe9"
    codec = _Codec()
    (message,) = list(codec.feed(raw))
    value = message[3][0]
    assert value.encode("utf-8", "surrogateescape") == b"\xe9t\xe9"
    assert codec.pack([1, 7, None, value]).endswith(b"\xa3\xe9t\xe9")


def test_a_reply_larger_than_the_socket_buffer_arrives_whole():
    """One send() covers a small reply; a bigger one than the kernel takes at once goes out in full."""
    import gevent
    from gevent import socket as gsocket

    from kong_plugins.socket_send import send_all

    writer, reader = gsocket.socketpair()
    writer.setsockopt(gsocket.SOL_SOCKET, gsocket.SO_SNDBUF, 4096)
    payload = bytes(range(256)) * 4096            # 1 MiB, far above the send buffer
    received = bytearray()

    def read() -> None:
        while len(received) < 2 * len(payload) + 5:
            received.extend(reader.recv(65536))

    reading = gevent.spawn(read)
    send_all(writer, b"small")
    send_all(writer, payload)
    send_all(writer, payload)
    reading.join(timeout=10)
    writer.close()
    reader.close()
    assert bytes(received) == b"small" + payload + payload
