"""The local nonce book of pipelined EVM sending (``adapters.evm.nonces``)."""

from __future__ import annotations

from adapters.evm.nonces import NonceBook


def test_a_sender_count_is_read_once_then_counted_locally() -> None:
    reads: list[str] = []
    counts = {"0xAa": 7, "0xBb": 0}

    def read(sender: str) -> int:
        reads.append(sender)
        return counts[sender]

    book = NonceBook(read)
    assert [book.take("0xAa") for _ in range(3)] == [7, 8, 9]
    assert book.take("0xBb") == 0
    assert book.take("0xaa") == 10  # one sender whatever the letters' case
    assert reads == ["0xAa", "0xBb"]
    assert book.peek("0xAA") == 11
    assert book.reads == 2


def test_a_forgotten_count_is_read_again_from_the_node() -> None:
    """After ``forget`` (a send refused, the key taken anew by this replica) the node's
    count is the truth again, whether it is behind the local one (a dropped transaction's
    nonce is free) or ahead (another process used the key)."""
    node = {"n": 3}
    book = NonceBook(lambda sender: node["n"])
    assert [book.take("0xAa"), book.take("0xAa")] == [3, 4]
    node["n"] = 9  # another replica sent six while it held the key
    assert book.take("0xAa") == 5  # still counted locally: the book cannot know
    book.forget("0xAa")
    assert book.take("0xAa") == 9
    node["n"] = 2
    book.forget_all()
    assert book.take("0xAa") == 2
    assert book.peek("0xCc") is None
