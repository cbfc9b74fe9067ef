"""The relay's clock wraps what goes downstream; a client that hangs up must not leave what it wraps open."""

from kong_plugins.relay.clock import RelayClock


def test_closing_downstream_early_closes_the_pieces_it_wraps():
    finished = []

    def pieces():
        try:
            yield b"one"
            yield b"two"
        finally:
            finished.append(True)    # where a stream closes its Bedrock connection and stops its greenlets

    inner = pieces()                 # held here, as the relay's stream state holds it: no garbage collection
    outer = RelayClock().downstream(inner)
    assert next(outer) == b"one"
    outer.close()                    # the WSGI server's close() when the client goes away
    assert finished == [True]

