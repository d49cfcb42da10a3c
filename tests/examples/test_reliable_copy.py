from examples.reliable_copy import build


def test_reliable_copy_200_seeds():
    """Over a network losing 40% of connects and sends, 1..N arrive exactly, in order."""
    n = 10
    lossy = 0
    for seed in range(200):
        world, storage = build(seed, n)
        world.run(until_ms=1_000_000)
        assert storage == list(range(1, n + 1)), f"seed {seed}: {storage}"
        lossy += world.network.messages_dropped > 0
    assert lossy > 150  # the network really did lose messages in most runs
