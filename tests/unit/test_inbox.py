"""The client's inbox (realtime/inbox.py): arrival order, an event after a quiet spell at once,
a burst's events together."""
import asyncio

from realtime import inbox


def run(steps, coalesce=0.2):
    """Run `steps(box, handed)` on a loop; `handed`: (hand-over, event) for each event handed on,
    hand-overs numbered from 1."""
    async def main():
        handed, overs = [], [0]
        box = inbox.Inbox(lambda event, args: handed.append((overs[0], event)))
        flush = box.flush

        def counted():
            overs[0] += 1
            flush()

        box.flush = counted  # (what put's timer calls too)
        await steps(box, handed)
        return handed

    saved, inbox.COALESCE = inbox.COALESCE, coalesce
    try:
        return asyncio.run(main())
    finally:
        inbox.COALESCE = saved


def test_an_event_after_a_quiet_spell_goes_at_once_and_a_burst_goes_together_in_order():
    async def steps(box, handed):
        box.put("first", ())
        await asyncio.sleep(0)
        assert [e for _, e in handed] == ["first"]  # one loop turn, not COALESCE
        for name in ("second", "third", "fourth"):  # right after a hand-over: a burst
            box.put(name, ())
        await asyncio.sleep(0.05)
        assert [e for _, e in handed] == ["first"]  # they wait for the ones after them
        await asyncio.sleep(0.3)
        assert [e for _, e in handed] == ["first", "second", "third", "fourth"]
        assert len({t for t, e in handed if e != "first"}) == 1  # handed on together
        await asyncio.sleep(0.3)  # quiet again
        box.put("fifth", ())
        await asyncio.sleep(0)
        assert handed[-1][1] == "fifth"

    run(steps)


def test_flush_hands_on_what_waits_and_the_timer_then_finds_nothing():
    async def steps(box, handed):
        box.put("a", ())
        await asyncio.sleep(0)
        box.put("b", ())
        box.put("c", ())
        box.flush()  # (a hand-over of its own)
        assert handed == [(1, "a"), (2, "b"), (2, "c")]
        await asyncio.sleep(0.3)
        assert handed == [(1, "a"), (2, "b"), (2, "c")]

    run(steps)


def test_an_event_that_fails_loses_no_other_of_its_burst(caplog):
    def take(event, args):
        if event == "bad":
            raise RuntimeError("the journal's writer stopped")
        handed.append(event)

    async def main():
        box = inbox.Inbox(take)
        for name in ("a", "bad", "b"):
            box.put(name, ())
        box.flush()

    handed = []
    asyncio.run(main())
    assert handed == ["a", "b"]
    assert "applying a received bad failed" in caplog.text


def test_an_answer_is_read_after_what_came_before_it():
    async def steps(box, handed):
        box.put("first", ())
        await asyncio.sleep(0)
        box.put("second", ())  # a burst: it waits
        box.after(lambda reply: handed.append((None, reply)))("the answer")
        assert [e for _, e in handed] == ["first", "second", "the answer"]

    run(steps)
