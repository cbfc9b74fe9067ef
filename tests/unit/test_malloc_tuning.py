"""The plugin server fixes glibc's mmap threshold, so that a large prompt's buffers go back to the system when
freed (measured by bench.memory's large-prompt burst: no RSS assertion here)."""

import ctypes

from kong_plugins import malloc_tuning


def test_glibc_takes_the_setting():
    assert malloc_tuning.return_large_buffers() is True       # the image's C library (Debian: glibc)


def test_a_c_library_without_mallopt_is_left_alone(monkeypatch):
    class Musl:
        def __getattr__(self, name):
            raise AttributeError(name)
    monkeypatch.setattr(ctypes, "CDLL", lambda *_: Musl())
    assert malloc_tuning.return_large_buffers() is False
